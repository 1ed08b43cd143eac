"""The `cephgw` command as a user runs it: keys, certificates and `serve` over real TLS."""

from __future__ import annotations

import json
import os
import signal
import socket
import ssl
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import get_args

import httpx
import pytest
from cryptography import x509

from app.auth import KEY_PREFIX
from app.settings import ServerName
from cli.dev_cluster import DevCluster
from tests.support import ask_until, wait_until
from tests.support.cluster import ceph_cli, ceph_cli_json
from tests.support.server import (
    CEPHGW,
    agreed_tls_version,
    answered,
    cephgw,
    free_port,
    stop_server,
)

pytestmark = pytest.mark.integration

SERVERS = get_args(ServerName)


def _ready(port: int, *, tls: bool) -> bool:
    """/readyz answers 200: listening, connected, keys loaded (so no 503 in the tests)."""
    # Only readiness is asked here; the tests check the certificate itself.
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    scheme = "https" if tls else "http"
    try:
        r = httpx.get(f"{scheme}://127.0.0.1:{port}/readyz", verify=context, timeout=5)
    except httpx.TransportError:
        return False
    return r.status_code == 200


@contextmanager
def serving(
    cluster: DevCluster, *args: str, env: dict[str, str] | None = None
) -> Iterator[tuple[subprocess.Popen[str], int]]:
    port = free_port()
    proc = subprocess.Popen(
        [
            CEPHGW,
            "serve",
            "--conf",
            str(cluster.conf),
            "--keyring",
            str(cluster.keyring),
            "--addr",
            "127.0.0.1",
            "--port",
            str(port),
            *args,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, **(env or {})},
    )

    def ready() -> bool:
        assert proc.poll() is None, proc.communicate()[0]
        return _ready(port, tls="--insecure-http" not in args)

    try:
        wait_until(ready, "serve answers GET /readyz with 200", limit=30, interval=0.2)
        yield proc, port
    finally:
        stop_server(proc)


def test_create_list_delete_key(cluster: DevCluster) -> None:
    cephgw(cluster, "delete-key", "cli-key")  # left over by an interrupted run on a reused cluster
    created = cephgw(cluster, "create-key", "cli-key", "--role", "read-only")
    assert created.returncode == 0, created.stderr
    secret = created.stdout.strip()
    assert len(secret) >= 22  # 22 URL-safe characters carry at least 128 bits
    assert "shown only this once" in created.stderr

    again = cephgw(cluster, "create-key", "cli-key")
    assert again.returncode == 1
    assert again.stderr.strip() == "cephgw: key 'cli-key' already exists; delete it first"

    listed = cephgw(cluster, "list-keys")
    assert listed.returncode == 0, listed.stderr
    line = next(x for x in listed.stdout.splitlines() if x.startswith("cli-key "))
    assert "read-only" in line
    assert secret not in listed.stdout
    assert "$argon2" not in listed.stdout

    deleted = cephgw(cluster, "delete-key", "cli-key")
    assert deleted.returncode == 0, deleted.stderr
    assert "cli-key " not in cephgw(cluster, "list-keys").stdout
    gone = cephgw(cluster, "delete-key", "cli-key")
    assert gone.returncode == 1
    assert gone.stderr.strip() == "cephgw: no key named 'cli-key'"


def test_bad_key_name_is_one_line_error(cluster: DevCluster) -> None:
    r = cephgw(cluster, "create-key", "bad name/with slash")
    assert r.returncode == 1
    assert r.stderr.startswith("cephgw: invalid key name")
    assert "Traceback" not in r.stderr


def test_unreachable_cluster_is_one_line_error(cluster: DevCluster, tmp_path: Path) -> None:
    conf = tmp_path / "dead.conf"
    conf.write_text(f"[global]\nmon host = 127.0.0.1:{free_port()}\n")
    r = subprocess.run(
        [CEPHGW, "list-keys", "--conf", str(conf), "--keyring", str(cluster.keyring)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "CEPHGW_CONNECT_TIMEOUT": "2"},
        check=False,
    )
    assert r.returncode == 1
    assert r.stderr.strip().startswith("cephgw: cannot connect to the cluster as client.admin")
    assert "Traceback" not in r.stderr


@pytest.mark.parametrize(
    "command",
    [
        "serve",
        "create-key",
        "list-keys",
        "delete-key",
        "create-self-signed-cert",
        "dev-cluster",
        "openapi",
    ],
)
def test_every_command_has_help(command: str) -> None:
    r = subprocess.run([CEPHGW, command, "--help"], capture_output=True, text=True, check=False)
    assert r.returncode == 0
    assert "usage: cephgw " + command in r.stdout


def test_self_signed_cert_is_stored_with_sans(cluster: DevCluster) -> None:
    r = cephgw(cluster, "create-self-signed-cert", "--mgr-name", "certtest", "--key-type", "ec")
    assert r.returncode == 0, r.stderr
    pem = ceph_cli(cluster, "config-key", "get", "mgr/restful/certtest/crt")
    cert = x509.load_pem_x509_certificate(pem.encode())
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    ips = {str(ip) for ip in sans.get_values_for_type(x509.IPAddress)}
    assert ips == {"127.0.0.1", "::1"}
    assert socket.getfqdn() in sans.get_values_for_type(x509.DNSName)
    key_pem = ceph_cli(cluster, "config-key", "get", "mgr/restful/certtest/key")
    assert "PRIVATE KEY" in key_pem


@pytest.mark.parametrize("server", SERVERS)
def test_serve_uses_the_certificate_from_config_key(
    cluster: DevCluster, admin_auth: tuple[str, str], server: str
) -> None:
    made = cephgw(cluster, "create-self-signed-cert", "--mgr-name", "servetest")
    assert made.returncode == 0, made.stderr
    stored = ceph_cli(cluster, "config-key", "get", "mgr/restful/servetest/crt")
    with serving(cluster, "--mgr-name", "servetest", "--server", server) as (_, port):
        served = ssl.get_server_certificate(("127.0.0.1", port))
        assert ssl.PEM_cert_to_DER_cert(served) == ssl.PEM_cert_to_DER_cert(stored)
        # Trusting only the stored certificate also checks its 127.0.0.1 subject alt name.
        trust = ssl.create_default_context(cadata=stored)
        r = httpx.get(f"https://127.0.0.1:{port}/pool", auth=admin_auth, verify=trust)
        assert r.status_code == 200
        assert isinstance(r.json(), list)
        with pytest.raises(httpx.RemoteProtocolError):  # no plain HTTP on a TLS port
            httpx.get(f"http://127.0.0.1:{port}/pool", auth=admin_auth)


@pytest.mark.parametrize("server", SERVERS)
def test_serve_speaks_tls_1_2_and_newer_only(cluster: DevCluster, server: str) -> None:
    made = cephgw(cluster, "create-self-signed-cert", "--mgr-name", "tlsversions")
    assert made.returncode == 0, made.stderr
    with serving(cluster, "--mgr-name", "tlsversions", "--server", server) as (_, port):
        assert agreed_tls_version(port, ssl.TLSVersion.TLSv1_3) == "TLSv1.3"
        assert agreed_tls_version(port, ssl.TLSVersion.TLSv1_2) == "TLSv1.2"
        assert agreed_tls_version(port, ssl.TLSVersion.TLSv1_1).startswith("refused: ")


def test_serve_logs_the_client_behind_a_trusted_proxy(
    cluster: DevCluster, admin_auth: tuple[str, str]
) -> None:
    # The default server binds '::' as one socket; IPv4 clients are still logged as IPv4.
    with serving(cluster, "--insecure-http", "--addr", "::") as (proc, port):
        for forwarded in ("203.0.113.9", None):
            headers = {"X-Forwarded-For": forwarded} if forwarded else {}
            r = httpx.get(f"http://127.0.0.1:{port}/mon", auth=admin_auth, headers=headers)
            assert r.status_code == 200
        stop_server(proc)
        out = proc.communicate()[0]
    clients = [json.loads(x)["client"] for x in out.splitlines() if '"/mon"' in x]
    assert clients == ["203.0.113.9", "127.0.0.1"]


def test_serve_throttles_and_audits_the_client_behind_a_trusted_proxy(
    cluster: DevCluster, admin_auth: tuple[str, str], tmp_path: Path
) -> None:
    # The defaults of a served gateway: 5 failures of one address on one key name.
    audit_file = tmp_path / "audit.jsonl"
    env = {"CEPHGW_AUDIT_FILE": str(audit_file)}
    attacker, user = {"X-Forwarded-For": "203.0.113.66"}, {"X-Forwarded-For": "198.51.100.7"}
    with serving(cluster, "--insecure-http", env=env) as (proc, port):
        url = f"http://127.0.0.1:{port}"
        wrong = (admin_auth[0], "a-guess")
        statuses = [httpx.get(f"{url}/pool", auth=wrong, headers=attacker) for _ in range(5)]
        assert [r.status_code for r in statuses] == [401] * 5
        r = httpx.get(f"{url}/pool", auth=admin_auth, headers=attacker)
        assert r.status_code == 429
        retry_after = int(r.headers["retry-after"])
        assert 55 <= retry_after <= 60
        assert r.json() == {
            "message": f"Too many failed authentications from this client; retry in {retry_after} s"
        }
        assert httpx.get(f"{url}/pool", auth=admin_auth, headers=user).status_code == 200
        r = httpx.post(
            f"{url}/request?wait=1", json={"prefix": "osd stat"}, auth=admin_auth, headers=user
        )
        assert r.status_code == 200, r.text
        job = r.json()
        stop_server(proc)
        out = proc.communicate()[0]
    [line] = [json.loads(x) for x in audit_file.read_text().splitlines()]
    assert line == {
        "time": line["time"],
        "key": admin_auth[0],
        "role": "admin",
        "client": "198.51.100.7",
        "method": "POST",
        "path": "/request",
        "status": 200,
        "job_id": job["id"],
        "job_state": "success",
    }
    assert admin_auth[1] not in audit_file.read_text()
    assert admin_auth[1] not in out
    assert job["id"] not in out  # the audit went to its file, not to standard output


def test_a_killed_server_leaves_no_worker_behind(cluster: DevCluster) -> None:
    with serving(cluster, "--insecure-http") as (proc, port):
        children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text()
        workers = [int(pid) for pid in children.split()]
        assert workers, "granian serves from a worker process"
        proc.kill()
        proc.wait()
        wait_until(
            lambda: not any(Path(f"/proc/{w}").exists() for w in workers),
            "the worker stops with its supervisor",
            limit=20,
        )
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"http://127.0.0.1:{port}/readyz")


def test_serve_without_certificate_names_the_command(cluster: DevCluster) -> None:
    ceph_cli(cluster, "config-key", "rm", "mgr/restful/crt")
    ceph_cli(cluster, "config-key", "rm", "mgr/restful/key")
    r = subprocess.run(
        [
            CEPHGW,
            "serve",
            "--conf",
            str(cluster.conf),
            "--keyring",
            str(cluster.keyring),
            "--mgr-name",
            "nocert",
            "--port",
            str(free_port()),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert r.returncode == 2
    assert "cephgw create-self-signed-cert" in r.stderr
    assert "Traceback" not in r.stderr


def test_insecure_http_warns_and_serves(cluster: DevCluster, admin_auth: tuple[str, str]) -> None:
    with serving(cluster, "--insecure-http") as (proc, port):
        r = httpx.get(f"http://127.0.0.1:{port}/pool", auth=admin_auth)
        assert r.status_code == 200
    out = proc.communicate()[0]
    assert "serving plain HTTP" in out


def test_unreachable_cluster_answers_503_and_keeps_running(
    cluster: DevCluster, tmp_path: Path
) -> None:
    conf = tmp_path / "dead.conf"
    conf.write_text(f"[global]\nmon host = 127.0.0.1:{free_port()}\n")
    env = {"CEPHGW_CONNECT_TIMEOUT": "1", "CEPHGW_RECONNECT_INTERVAL": "1"}
    port = free_port()
    proc = subprocess.Popen(
        [
            CEPHGW,
            "serve",
            "--conf",
            str(conf),
            "--keyring",
            str(cluster.keyring),
            "--insecure-http",
            "--addr",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, **env},
    )
    try:
        r = wait_until(
            lambda: answered(
                proc,
                lambda: httpx.get(f"http://127.0.0.1:{port}/pool", auth=("a", "b"), timeout=5),
            ),
            "serve answers on its port",
            limit=30,
            interval=0.3,
        )
        assert r.status_code == 503
        assert "Retry-After" in r.headers
        assert r.json()["message"].startswith("cluster unavailable: ")
        assert proc.poll() is None
    finally:
        proc.terminate()
        out = proc.communicate(timeout=15)[0]
    assert "Traceback" not in out


def test_key_made_by_cli_is_hashed_in_config_key(cluster: DevCluster) -> None:
    created = cephgw(cluster, "create-key", "hashcheck")
    assert created.returncode == 0, created.stderr
    try:
        stored = ceph_cli(cluster, "config-key", "get", KEY_PREFIX + "hashcheck")
        assert created.stdout.strip() not in stored
    finally:
        cephgw(cluster, "delete-key", "hashcheck")


def test_serve_takes_port_from_the_modules_setting_and_flag_wins(
    cluster: DevCluster, admin_auth: tuple[str, str]
) -> None:
    cluster_port = free_port()
    option = "mgr/restful/porttest/server_port"
    # --force: the mon refuses the module's options while the module is off (Reef) or gone
    # (Tentacle); a cluster that ran the module still holds them, which is what this stands for.
    ceph_cli(cluster, "config", "set", "mgr", option, str(cluster_port), "--force")
    proc = subprocess.Popen(
        [
            CEPHGW,
            "serve",
            "--conf",
            str(cluster.conf),
            "--keyring",
            str(cluster.keyring),
            "--mgr-name",
            "porttest",
            "--addr",
            "127.0.0.1",
            "--insecure-http",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )

    def keys_read() -> httpx.Response | None:
        r = answered(
            proc, lambda: httpx.get(f"http://127.0.0.1:{cluster_port}/pool", auth=admin_auth)
        )
        return r if r is not None and r.status_code != 503 else None  # 503: keys not read yet

    try:
        r = wait_until(
            keys_read, "serve answers on the cluster's port, keys read", limit=30, interval=0.2
        )
        assert r.status_code == 200
    finally:
        proc.terminate()
        proc.communicate(timeout=15)
    # An explicit --port beats the cluster's setting.
    try:
        with serving(cluster, "--mgr-name", "porttest", "--insecure-http") as (_, port):
            assert port != cluster_port
            r = ask_until(
                lambda: httpx.get(f"http://127.0.0.1:{port}/pool", auth=admin_auth),
                lambda r: r.status_code != 503,
                "serve answers GET /pool, keys read (no 503)",
                limit=30,
                interval=0.2,
            )
            assert r.status_code == 200
    finally:
        ceph_cli(cluster, "config", "rm", "mgr", option)


@pytest.mark.parametrize("server", SERVERS)
def test_sigterm_lets_running_jobs_finish_then_exits(
    cluster: DevCluster, admin_auth: tuple[str, str], server: str
) -> None:
    key = f"cephgw-test/sigterm-{uuid.uuid4().hex[:8]}"
    # Each blocklist change waits for the mon's next map proposal: the job takes seconds.
    slow = [
        [
            {
                "prefix": "osd blocklist",
                "blocklistop": "add",
                "addr": f"192.0.2.1:0/{n}",
                "expire": 30.0,
            }
        ]
        for n in (uuid.uuid4().int % 10**9, uuid.uuid4().int % 10**9)
    ]
    waves = [*slow, [{"prefix": "config-key set", "key": key, "val": "done"}]]
    with serving(
        cluster, "--insecure-http", "--server", server, env={"CEPHGW_JOB_SHUTDOWN_GRACE": "30"}
    ) as (
        proc,
        port,
    ):
        r = httpx.post(f"http://127.0.0.1:{port}/request", json=waves, auth=admin_auth)
        assert r.status_code == 200
        assert r.json()["state"] == "pending"
        proc.send_signal(signal.SIGTERM)
        # uvicorn re-raises the signal once its graceful shutdown is done; granian exits 0.
        assert proc.wait(timeout=40) in (0, -signal.SIGTERM)
        out = proc.communicate()[0]
    assert "Traceback" not in out
    # The last wave ran although the signal came before it started.
    stored = ceph_cli_json(cluster, "config-key", "dump", key)
    ceph_cli(cluster, "config-key", "rm", key)
    assert stored == {key: "done"}


@pytest.mark.parametrize(
    ("argv", "env", "expected"),
    [
        (["serve", "--port", "70000"], {}, "port: Input should be less than or equal to 65535"),
        (["list-keys"], {"CEPHGW_REQUEST_DENY": "auth get"}, "request_deny"),
    ],
    ids=["flag", "env"],
)
def test_a_bad_setting_is_one_line_and_exit_2(
    argv: list[str], env: dict[str, str], expected: str
) -> None:
    r = subprocess.run(
        [CEPHGW, *argv],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, **env},
        check=False,
    )
    assert r.returncode == 2
    assert r.stderr.startswith("cephgw: invalid setting: ")
    assert expected in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert "Traceback" not in r.stderr


def test_self_signed_cert_honours_cephgw_mgr_name(cluster: DevCluster) -> None:
    r = cephgw(cluster, "create-self-signed-cert", env={"CEPHGW_MGR_NAME": "envmgr"})
    assert r.returncode == 0, r.stderr
    assert "mgr/restful/envmgr/crt" in r.stdout
    assert "BEGIN CERTIFICATE" in ceph_cli(cluster, "config-key", "get", "mgr/restful/envmgr/crt")
