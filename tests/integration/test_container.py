"""The container's command line, run outside a container against the test cluster.

No container engine runs here, so the test follows the Dockerfile instead: it reads the
final stage's ENV, ENTRYPOINT, CMD and HEALTHCHECK, swaps the image's paths for this
machine's (the venv's `cephgw`, the test cluster's ceph.conf, a keyring made for the test),
and runs that. The gateway runs as `client.cephgw` with the caps docs/deploy.md gives, so
this also checks those caps: reads, a write job, and the TLS certificate from config-key.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import ssl
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from cli.dev_cluster import DevCluster
from tests.support import ask_until, wait_until
from tests.support.cluster import ceph_cli, ceph_cli_json
from tests.support.server import answered, cephgw, free_port, stop_server

pytestmark = pytest.mark.integration

ROOT = Path(__file__).parents[2]
DOCKERFILE = ROOT / "Dockerfile"
DEPLOY_DOC = ROOT / "docs" / "deploy.md"
IMAGE_VENV_BIN = "/opt/cephgw/bin/"
IMAGE_CONF = "/etc/ceph/ceph.conf"
IMAGE_KEYRING = "/etc/ceph/ceph.client.cephgw.keyring"
USER = "client.cephgw"
# What docs/deploy.md tells an operator to create; test_the_doc_gives_these_caps keeps the two
# the same.
CAPS = {
    "mon": (
        "allow rw, "
        'allow command "config-key dump" with key prefix cephgw/keys/, '
        'allow command "config-key dump" with key prefix mgr/restful/, '
        'allow command "config-key get" with key prefix cephgw/keys/, '
        'allow command "config-key get" with key prefix mgr/restful/'
    ),
    "mgr": "allow *",
    "osd": "allow *",
}
MGR_NAME = "containertest"
SCRATCH_POOL = "container-scratch"


# -- reading the Dockerfile -------------------------------------------------------------------


@dataclass
class Image:
    """What `docker run IMAGE` would run, from the Dockerfile's final stage."""

    env: dict[str, str] = field(default_factory=dict)
    entrypoint: list[str] = field(default_factory=list)
    cmd: list[str] = field(default_factory=list)
    healthcheck: list[str] = field(default_factory=list)
    volumes: list[str] = field(default_factory=list)
    exposed: list[str] = field(default_factory=list)
    user: str = ""


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order: comments dropped, continuation lines joined."""
    out: list[tuple[str, str]] = []
    current = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not current and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):  # a comment inside a continued instruction
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        current += line
        word, _, rest = current.partition(" ")
        out.append((word.upper(), rest.strip()))
        current = ""
    return out


def parse_image(text: str) -> Image:
    image = Image()
    for word, args in instructions(text):
        if word == "FROM":
            image = Image()  # only the final stage is the image
        elif word == "ENV":
            for pair in shlex.split(args):
                key, _, value = pair.partition("=")
                image.env[key] = value
        elif word == "ENTRYPOINT":
            image.entrypoint = json.loads(args)
        elif word == "CMD":
            image.cmd = json.loads(args)
        elif word == "HEALTHCHECK":
            _, _, exec_form = args.partition(" CMD ")
            image.healthcheck = json.loads(exec_form)
        elif word == "VOLUME":
            image.volumes += args.split()
        elif word == "EXPOSE":
            image.exposed += args.split()
        elif word == "USER":
            image.user = args
    return image


@pytest.fixture(scope="module")
def image() -> Image:
    return parse_image(DOCKERFILE.read_text())


def test_the_dockerfile_says_what_the_issue_asks(image: Image) -> None:
    text = DOCKERFILE.read_text()
    assert "FROM debian:${DEBIAN_RELEASE}-slim AS build" in text
    assert "ARG DEBIAN_RELEASE=bookworm" in text
    assert image.entrypoint == [IMAGE_VENV_BIN + "cephgw", "serve"]
    assert image.exposed == ["8003"]
    assert image.volumes == ["/etc/ceph"]
    assert not image.user.startswith(("0", "root"))
    assert image.healthcheck[0] == IMAGE_VENV_BIN + "python"
    assert "/healthz" in image.healthcheck[-1]


def test_the_doc_gives_these_caps() -> None:
    doc = DEPLOY_DOC.read_text()
    for entity, caps in CAPS.items():
        assert f"{entity} '{caps}'" in doc, entity


# -- running it -------------------------------------------------------------------------------


def host_command(argv: list[str], substitutions: dict[str, str]) -> list[str]:
    """The image's argv with its paths replaced by this machine's."""
    venv_bin = str(Path(sys.executable).parent) + "/"
    return [
        substitutions.get(a, venv_bin + a[len(IMAGE_VENV_BIN) :])
        if a.startswith(IMAGE_VENV_BIN)
        else substitutions.get(a, a)
        for a in argv
    ]


def with_port(argv: list[str], port: int) -> list[str]:
    """`docker run -p PORT:8003`, outside a container: listen on a free port instead."""
    i = argv.index("--port")
    return [*argv[: i + 1], str(port), *argv[i + 2 :]]


@dataclass
class Running:
    port: int
    proc: subprocess.Popen[str]
    trust: ssl.SSLContext
    env: dict[str, str]
    substitutions: dict[str, str]


@pytest.fixture(scope="module")
def gateway_user(cluster: DevCluster, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """client.cephgw with the documented caps; its keyring where the test can read it."""
    ceph_cli(cluster, "auth", "rm", USER)
    caps = [part for entity, cap in CAPS.items() for part in (entity, cap)]
    keyring = ceph_cli(cluster, "auth", "get-or-create", USER, *caps)
    path = tmp_path_factory.mktemp("etc-ceph") / "ceph.client.cephgw.keyring"
    path.write_text(keyring)
    path.chmod(0o600)
    return path


@pytest.fixture(scope="module")
def running(
    cluster: DevCluster, image: Image, gateway_user: Path, admin_auth: tuple[str, str]
) -> Iterator[Running]:
    # The certificate, where `cephgw create-self-signed-cert --mgr-name` puts it.
    made = subprocess.run(
        [
            str(Path(sys.executable).with_name("cephgw")),
            "create-self-signed-cert",
            "--conf",
            str(cluster.conf),
            "--keyring",
            str(cluster.keyring),
            "--mgr-name",
            MGR_NAME,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    stored = ceph_cli(cluster, "config-key", "get", f"mgr/restful/{MGR_NAME}/crt")
    substitutions = {IMAGE_CONF: str(cluster.conf), IMAGE_KEYRING: str(gateway_user)}
    port = free_port()
    argv = with_port(host_command(image.entrypoint + image.cmd, substitutions), port)
    # The image's ENV, what `docker run -e` would add, and nothing of this test's own CEPH_*.
    base = {k: v for k, v in os.environ.items() if not k.startswith(("CEPH_", "CEPHGW_"))}
    env = {**base, **image.env, "CEPHGW_MGR_NAME": MGR_NAME}
    proc = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    )
    trust = ssl.create_default_context(cadata=stored)
    try:
        wait_until(
            lambda: answered(
                proc,
                lambda: httpx.get(f"https://127.0.0.1:{port}/healthz", verify=trust, timeout=2),
            ),
            "the entry point listens",
            limit=60,
            interval=0.3,
        )
        yield Running(port, proc, trust, env, substitutions)
    finally:
        stop_server(proc, timeout=20)
        ceph_cli(cluster, "config-key", "rm", f"mgr/restful/{MGR_NAME}/crt")
        ceph_cli(cluster, "config-key", "rm", f"mgr/restful/{MGR_NAME}/key")


def get(running: Running, path: str, auth: tuple[str, str] | None = None) -> httpx.Response:
    return httpx.get(
        f"https://127.0.0.1:{running.port}{path}", verify=running.trust, auth=auth, timeout=30
    )


def test_healthz_and_readyz(running: Running) -> None:
    assert get(running, "/healthz").json() == {"status": "ok", "checks": {}}
    r = ask_until(
        lambda: get(running, "/readyz"),
        lambda r: r.status_code == 200,
        "GET /readyz answers 200",
        limit=30,
        interval=0.3,
        show=lambda r: r.json(),
    )
    checks = r.json()["checks"]
    assert checks["tls"]["detail"].startswith("certificate valid until ")
    assert checks["keys"]["status"] == "ok"


def test_addr_colons_listens_on_ipv4_and_ipv6(running: Running, image: Image) -> None:
    assert image.cmd[image.cmd.index("--addr") + 1] == "::"
    for host in ("127.0.0.1", "[::1]"):
        url = f"https://{host}:{running.port}/healthz"
        assert httpx.get(url, verify=running.trust, timeout=10).status_code == 200, host


def test_authenticated_reads(running: Running, admin_auth: tuple[str, str]) -> None:
    osds = get(running, "/osd", admin_auth)
    assert osds.status_code == 200, osds.text
    assert [o["osd"] for o in osds.json()] == [0, 1, 2]
    assert get(running, "/osd", ("nobody", "x")).status_code == 401
    # The reads that need more than `mon r`: a mgr tell and an OSD tell.
    assert get(running, "/config/cluster", admin_auth).status_code == 200
    perf = get(running, "/perf?daemon=osd.0", admin_auth)
    assert perf.status_code == 200
    assert "osd.0" in perf.json()


def test_a_key_made_after_the_start_works_at_once(cluster: DevCluster, running: Running) -> None:
    """The on-miss lookup of one key, with the documented caps (`config-key get`)."""
    made = cephgw(cluster, "create-key", "container-fresh", "--role", "read-only")
    assert made.returncode == 0, made.stderr
    try:
        fresh = get(running, "/osd", ("container-fresh", made.stdout.strip()))
        assert fresh.status_code == 200, fresh.text
    finally:
        cephgw(cluster, "delete-key", "container-fresh")


def test_a_write_job_succeeds(
    cluster: DevCluster, running: Running, admin_auth: tuple[str, str]
) -> None:
    url = f"https://127.0.0.1:{running.port}/request?wait=1"
    create = {"prefix": "osd pool create", "pool": SCRATCH_POOL, "pg_num": 1}
    delete = {
        "prefix": "osd pool delete",
        "pool": SCRATCH_POOL,
        "pool2": SCRATCH_POOL,
        "yes_i_really_really_mean_it": True,
    }
    try:
        r = httpx.post(url, json=create, auth=admin_auth, verify=running.trust, timeout=60)
        assert r.status_code == 200, r.text
        assert r.json()["state"] == "success", r.json()
        assert SCRATCH_POOL in ceph_cli_json(cluster, "osd", "pool", "ls")
    finally:
        r = httpx.post(url, json=delete, auth=admin_auth, verify=running.trust, timeout=60)
    assert r.json()["state"] == "success", r.json()


def test_the_healthcheck_command_passes(running: Running, image: Image) -> None:
    url = f"https://127.0.0.1:{running.port}/healthz"
    argv = host_command(image.healthcheck, {})
    r = subprocess.run(
        argv,
        env={**running.env, "CEPHGW_HEALTHCHECK_URL": url},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert r.returncode == 0, r.stderr
    # ... and fails when nothing answers there.
    dead = f"https://127.0.0.1:{free_port()}/healthz"
    r = subprocess.run(
        argv,
        env={**running.env, "CEPHGW_HEALTHCHECK_URL": dead},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert r.returncode != 0


def test_the_access_log_is_json_lines_on_stdout(
    running: Running, admin_auth: tuple[str, str]
) -> None:
    get(running, "/osd/1", admin_auth)
    running.proc.send_signal(signal.SIGTERM)
    out = running.proc.communicate(timeout=20)[0]
    lines = [json.loads(x) for x in out.splitlines() if x.startswith("{")]
    osd_lines = [x for x in lines if x["path"] == "/osd/1"]
    assert len(osd_lines) == 1
    assert osd_lines[0]["route"] == "/osd/{osd_id}"
    assert osd_lines[0]["key"] == admin_auth[0]
    assert admin_auth[1] not in out
    # uvicorn's own access log is off: no second line per request.
    assert '"GET /osd/1 HTTP/1.1"' not in out
