"""`cephgw serve` serves a certificate replaced in config-key within 5 s, without a restart,
while a request running across the reload completes; an unusable replacement is refused;
under granian the old worker serves until its replacement has started.

The served certificate is read as a client sees it, with `openssl s_client`, from a new
connection each time.
"""

from __future__ import annotations

import os
import signal
import ssl
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import get_args

import httpx
import pytest
from cryptography import x509

from app.settings import ServerName
from app.tls import make_self_signed_cert
from cli.dev_cluster import DevCluster
from tests.support import wait_until
from tests.support.cluster import ceph_cli, fresh_namespace
from tests.support.jobs import assert_succeeded, slow
from tests.support.processes import children
from tests.support.server import (
    CERTIFICATE_RELOAD_LIMIT,
    Gateway,
    agreed_tls_version,
    cephgw,
    free_port,
    self_signed_certificate,
    serial_of,
    serve_tls,
    served_alone_since,
    served_serial,
    serving_process,
    shown_on_failure,
    wait_serving,
)

pytestmark = pytest.mark.integration

# Waves of a slow command (each waits for the mon's next proposal, about 1 s): the job runs
# from before the replacement until after granian's old worker was told to stop.
SLOW_WAVES = 10


def served_alone_from(gw: Gateway, serial: int, replaced: float, server: str) -> float:
    """When (time.monotonic()) every new connection to `gw` was shown the certificate
    `serial` from then on, asserted within CERTIFICATE_RELOAD_LIMIT of `replaced`."""
    (alone,) = served_alone_since([gw.port], serial, until=replaced + CERTIFICATE_RELOAD_LIMIT + 3)
    print(
        f"{server}: the new certificate served alone {alone - replaced:.2f} s after it was stored"
    )
    assert alone - replaced <= CERTIFICATE_RELOAD_LIMIT
    return alone


@pytest.mark.parametrize("server", get_args(ServerName))
def test_a_certificate_replaced_in_config_key_is_served_within_5_s(
    cluster: DevCluster, admin_auth: tuple[str, str], tmp_path: Path, server: ServerName
) -> None:
    mgr_name = f"tlsreload-{server}"
    with (
        serve_tls(cluster, mgr_name, admin_auth, tmp_path / "serve.log", server=server) as gw,
        shown_on_failure(gw),
        ThreadPoolExecutor(1) as background,
    ):
        assert served_serial(gw.port) == serial_of(gw.cert_pem)
        running = background.submit(
            httpx.post,
            f"{gw.url}/request?wait=1",
            json=[[slow()] for _ in range(SLOW_WAVES)],
            auth=admin_auth,
            verify=gw.ssl_context(),
            timeout=60,
        )
        finished: list[float] = []
        running.add_done_callback(lambda _: finished.append(time.monotonic()))
        made = cephgw(cluster, "create-self-signed-cert", "--mgr-name", mgr_name)
        replaced = time.monotonic()  # the key was stored last, just before the command ended
        assert made.returncode == 0, made.stderr
        new_pem = ceph_cli(cluster, "config-key", "get", f"mgr/restful/{mgr_name}/crt")
        switched = served_alone_from(gw, serial_of(new_pem), replaced, server)

        answer = running.result()
        assert answer.status_code == 200, answer.text
        assert_succeeded(answer.json())
        # It ran across the reload: it ended after the new certificate was served alone
        # (granian's old worker had stopped accepting, and finished it).
        assert finished[0] > switched, (finished[0] - replaced, switched - replaced)

        # TLS 1.2 or newer only, as before.
        assert agreed_tls_version(gw.port, ssl.TLSVersion.TLSv1_2) == "TLSv1.2"
        assert agreed_tls_version(gw.port, ssl.TLSVersion.TLSv1_1).startswith("refused: ")

        # /readyz tells the new certificate's expiry, over a connection that trusts it only.
        new_cert = x509.load_pem_x509_certificate(new_pem.encode())
        readiness = httpx.get(
            f"{gw.url}/readyz", verify=ssl.create_default_context(cadata=new_pem), timeout=10
        )
        assert readiness.status_code == 200, readiness.text
        assert f"certificate valid until {new_cert.not_valid_after_utc}" in readiness.text

        # A replacement whose key is not the certificate's: refused, the last one served on.
        other_cert = tmp_path / "other.crt"
        other_cert.write_text(make_self_signed_cert("other.example.org")[0])
        ceph_cli(cluster, "config-key", "set", f"mgr/restful/{mgr_name}/crt", "-i", str(other_cert))
        wait_until(
            lambda: "refused the new TLS certificate" in gw.output(),
            "the gateway refuses the certificate that does not match its key",
            limit=CERTIFICATE_RELOAD_LIMIT + 2,  # two looks at the source: refused when seen twice
            interval=0.2,
            detail=gw.output,
        )
        assert "the private key is not the certificate's key" in gw.output()
        time.sleep(2.5)  # another look at the source or more: still refused
        assert served_serial(gw.port) == serial_of(new_pem)
        assert gw.output().count("refused the new TLS certificate") == 1


@pytest.mark.parametrize("server", get_args(ServerName))
def test_certificate_files_replaced_on_disk_are_served_within_5_s(
    cluster: DevCluster, admin_auth: tuple[str, str], tmp_path: Path, server: ServerName
) -> None:
    cert_file, key_file = tmp_path / "gw.crt", tmp_path / "gw.key"
    cert_pem, key_pem = make_self_signed_cert()
    cert_file.write_text(cert_pem)
    key_file.write_text(key_pem)
    port, log = free_port(), tmp_path / "serve.log"
    files = ["--cert-file", str(cert_file), "--key-file", str(key_file), "--server", server]
    with serving_process(cluster, "tlsfiles", port, log, *files) as proc:
        gw = Gateway(f"https://127.0.0.1:{port}", cert_pem, log, pid=proc.pid)
        wait_serving(proc, gw, admin_auth)
        with shown_on_failure(gw):
            assert served_serial(port) == serial_of(cert_pem)
            # Written in place, one file after the other, as `cp` would.
            new_cert_pem, new_key_pem = make_self_signed_cert(key_type="ec")
            cert_file.write_text(new_cert_pem)
            key_file.write_text(new_key_pem)
            replaced = time.monotonic()
            served_alone_from(gw, serial_of(new_cert_pem), replaced, server)
            assert "refused" not in gw.output()
            r = httpx.get(
                f"{gw.url}/pool",
                auth=admin_auth,
                verify=ssl.create_default_context(cadata=new_cert_pem),
                timeout=10,
            )
            assert r.status_code == 200, r.text


def test_granian_workers_are_all_replaced_on_one_reload(
    cluster: DevCluster, admin_auth: tuple[str, str], tmp_path: Path
) -> None:
    """Every worker sees the change; one only writes the files and asks for the reload."""
    mgr_name = "tlsreload-workers"
    port, log = free_port(), tmp_path / "serve.log"
    namespace = fresh_namespace("tlsreload")
    args = ["--workers", "2", "--job-store", "rados"]
    with (
        self_signed_certificate(cluster, mgr_name) as cert_pem,
        serving_process(
            cluster, mgr_name, port, log, *args, env={"CEPHGW_JOB_STORE_NAMESPACE": namespace}
        ) as proc,
    ):
        gw = Gateway(f"https://127.0.0.1:{port}", cert_pem, log, pid=proc.pid)
        wait_serving(proc, gw, admin_auth)
        with shown_on_failure(gw):
            made = cephgw(cluster, "create-self-signed-cert", "--mgr-name", mgr_name)
            replaced = time.monotonic()
            assert made.returncode == 0, made.stderr
            new_pem = ceph_cli(cluster, "config-key", "get", f"mgr/restful/{mgr_name}/crt")
            served_alone_from(gw, serial_of(new_pem), replaced, "granian, 2 workers")
            assert gw.output().count("HUP signal received") == 1
            assert gw.output().count("Stopped old worker-") == 2


def workers(supervisor: int) -> list[int]:
    """granian's workers: the supervisor's children but multiprocessing's own helpers (its
    resource tracker, started beside spawned workers: Python 3.14 spawns them)."""
    return [
        pid
        for pid in children(supervisor)
        if b"resource_tracker" not in Path(f"/proc/{pid}/cmdline").read_bytes()
    ]


def test_granian_keeps_the_old_worker_until_its_replacement_started(
    cluster: DevCluster, admin_auth: tuple[str, str], tmp_path: Path
) -> None:
    """A replacement worker slow to start (a busy host: here, stopped with SIGSTOP) leaves
    the old one serving: no new connection waits unanswered meanwhile."""
    mgr_name = "tlsreload-slow-worker"
    with (
        serve_tls(cluster, mgr_name, admin_auth, tmp_path / "serve.log", server="granian") as gw,
        shown_on_failure(gw),
    ):
        assert gw.pid is not None
        [old_worker] = workers(gw.pid)
        made = cephgw(cluster, "create-self-signed-cert", "--mgr-name", mgr_name)
        assert made.returncode == 0, made.stderr
        new_worker = wait_until(
            lambda: next(iter(set(workers(gw.pid or 0)) - {old_worker}), None),
            "granian spawns the replacement worker",
            limit=CERTIFICATE_RELOAD_LIMIT,
            interval=0.005,
        )
        os.kill(new_worker, signal.SIGSTOP)
        try:
            stopped = time.monotonic()
            # Well past the second after which granian alone stops the old worker.
            while time.monotonic() - stopped < 3.0:
                r = httpx.get(f"{gw.url}/readyz", verify=gw.ssl_context(), timeout=2)
                assert r.status_code == 200, r.text
                time.sleep(0.1)
            assert served_serial(gw.port) == serial_of(gw.cert_pem)
            assert old_worker in workers(gw.pid)
        finally:
            os.kill(new_worker, signal.SIGCONT)
        new_pem = ceph_cli(cluster, "config-key", "get", f"mgr/restful/{mgr_name}/crt")
        served_alone_from(gw, serial_of(new_pem), time.monotonic(), "granian, slow worker")
        assert workers(gw.pid) == [new_worker]
