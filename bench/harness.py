"""What the benchmarks share: a throwaway cluster, `cephgw serve` over TLS, the restful module
in the same cluster, and a process' CPU time and memory.

The scripts of bench/ are run by path (`.venv/bin/python bench/bench_all.py`): Python puts
bench/ on the path, so they import this module as `harness`, and this module puts the
repository's root there too, for `tests.integration` (the module's start-up is the tests'
own) and for the checkout's `app` and `cli`. The servers started here get the same root on
PYTHONPATH: what is measured is this checkout's code, whatever the venv's editable install
points at.
"""

from __future__ import annotations

import base64
import functools
import os
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(1, str(ROOT))

import httpx  # noqa: E402

from cli import dev_cluster  # noqa: E402
from tests.integration.differential import start_restful_module  # noqa: E402
from tests.support import cluster as support_cluster  # noqa: E402

# A process' CPU time and memory: the tests bound a request's memory with them too.
from tests.support.processes import ProcessFigures as ProcessFigures  # noqa: E402
from tests.support.processes import process_figures as process_figures  # noqa: E402
from tests.support.server import stop_server  # noqa: E402

CEPHGW = str(Path(sys.executable).with_name("cephgw"))
MIB = 1024 * 1024


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def project_env(cluster: dev_cluster.DevCluster, **extra: str) -> dict[str, str]:
    """The environment of a process started on `cluster`: its ceph.conf, this checkout first."""
    path = [str(ROOT), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    return {
        **os.environ,
        "CEPH_CONF": str(cluster.conf),
        "PYTHONPATH": os.pathsep.join(path),
        **extra,
    }


def ceph_cli(cluster: dev_cluster.DevCluster, timeout: float = 120) -> Callable[..., str]:
    """`ceph(*args) -> stdout` on `cluster`; CalledProcessError when a command fails."""
    return functools.partial(support_cluster.ceph_cli, cluster, timeout=timeout)


def basic_auth_header(auth: tuple[str, str]) -> str:
    return "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()


def insecure_context() -> ssl.SSLContext:
    """For servers whose certificate the caller does not hold (`--url` of bench_osd.py)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def trusting(cert_pem: str) -> ssl.SSLContext:
    """Trust exactly `cert_pem` (by the chain; its names need not match 127.0.0.1)."""
    context = ssl.create_default_context(cadata=cert_pem)
    context.check_hostname = False
    return context


@dataclass(frozen=True)
class Server:
    """A server under load: where it listens, how to authenticate, which process serves."""

    name: str
    url: str  # https://127.0.0.1:PORT
    auth: tuple[str, str]
    trust: ssl.SSLContext
    pid: int | None  # the serving process (None: not ours to watch)
    log: Path | None = None
    certificate: str = ""  # the PEM it serves, when the bench made it

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log and self.log.exists() else ""


class NotServing(RuntimeError):
    """A server the bench started did not come up."""


@contextmanager
def throwaway_cluster(
    osds: int = 3,
    pools: Sequence[str] = (),
    prefix: str = "cephgw-bench-",
    parent: Path | None = None,
) -> Iterator[dev_cluster.DevCluster]:
    """`dev_cluster.up` in a fresh directory (under `parent`, default /tmp); always taken
    down."""
    directory = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    try:
        yield dev_cluster.up(directory, osds=osds, pools=pools, timeout=120)
    finally:
        dev_cluster.down(directory)


def wait_until_serving(
    url: str,
    auth: tuple[str, str] | None,
    trust: ssl.SSLContext,
    *,
    proc: subprocess.Popen[bytes] | None = None,
    log: Path | None = None,
    timeout: float = 60,
) -> None:
    """Until GET `url` answers 200 (a server listens before it has a cluster connection)."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    with httpx.Client(verify=trust, timeout=10) as http:
        while True:
            if proc is not None and proc.poll() is not None:
                shown = log.read_text(errors="replace")[-3000:] if log else ""
                raise NotServing(f"{url}: the server exited ({proc.returncode}):\n{shown}")
            try:
                response = http.get(url, auth=auth)
                if response.status_code == 200:
                    return
                last = f"{response.status_code} {response.text[:200]}"
            except httpx.TransportError as exc:
                last = repr(exc)
            if time.monotonic() > deadline:
                raise NotServing(f"{url}: not serving after {timeout:.0f} s ({last})")
            time.sleep(0.2)


@contextmanager
def started(
    args: Sequence[str], env: Mapping[str, str], log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """A server process whose output goes to `log` (a pipe nobody reads would stall it)."""
    with log.open("wb") as out:
        proc = subprocess.Popen(args, env=dict(env), stdout=out, stderr=subprocess.STDOUT)
    try:
        yield proc
    finally:
        stop_server(proc)


def make_gateway_certificate(cluster: dev_cluster.DevCluster) -> str:
    """`cephgw create-self-signed-cert --mgr-name MGR`; the certificate PEM it stored.

    The module serves the certificate of its mgr too: made first, the gateway and the
    module present the same one (and `start_restful_module` then leaves it in place).
    """
    common = ["--keyring", str(cluster.keyring), "--mgr-name", cluster.mgr_name]
    subprocess.run(
        [CEPHGW, "create-self-signed-cert", *common],
        env=project_env(cluster),
        check=True,
        capture_output=True,
    )
    return ceph_cli(cluster)("config-key", "get", f"mgr/restful/{cluster.mgr_name}/crt")


def create_key(cluster: dev_cluster.DevCluster, name: str) -> tuple[str, str]:
    """`cephgw create-key NAME` (an admin key); the HTTP Basic credentials."""
    secret = subprocess.run(
        [CEPHGW, "create-key", name, "--keyring", str(cluster.keyring)],
        env=project_env(cluster),
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    return name, secret


@contextmanager
def serve_gateway(
    cluster: dev_cluster.DevCluster,
    port: int,
    log: Path,
    *,
    key_name: str = "bench",
    ready_path: str = "/osd",
    env: Mapping[str, str] | None = None,
    name: str = "cephgw",
    extra_args: Sequence[str] = (),
    beside: Server | None = None,
) -> Iterator[Server]:
    """`cephgw serve --mgr-name MGR` over TLS on 127.0.0.1:`port`, once it answers 200.

    `beside`: a gateway already serving on the cluster, whose certificate and key this one
    shares (none is made: a new one in config-key would not be the first one's).
    """
    cert_pem = beside.certificate if beside else make_gateway_certificate(cluster)
    auth = beside.auth if beside else create_key(cluster, key_name)
    args = [CEPHGW, "serve", "--conf", str(cluster.conf), "--keyring", str(cluster.keyring)]
    args += ["--mgr-name", cluster.mgr_name, "--addr", "127.0.0.1", "--port", str(port)]
    args += extra_args
    environment = project_env(cluster, CEPHGW_LOG_LEVEL="warning", **(env or {}))
    with started(args, environment, log) as proc:
        url = f"https://127.0.0.1:{port}"
        trust = ssl.create_default_context(cadata=cert_pem)  # its SAN names 127.0.0.1
        wait_until_serving(url + ready_path, auth, trust, proc=proc, log=log)
        yield Server(name, url, auth, trust, proc.pid, log, cert_pem)


def mgr_pid(cluster: dev_cluster.DevCluster) -> int | None:
    try:
        return int((cluster.directory / "run" / f"mgr.{cluster.mgr_name}.pid").read_text())
    except (OSError, ValueError):
        return None


@contextmanager
def serve_module(cluster: dev_cluster.DevCluster) -> Iterator[Server]:
    """The mgr's restful module on a loopback port (tests.integration's own start-up).

    The process that serves is the mgr: its CPU time and memory are the module's and the
    mgr's other work together.
    """
    with start_restful_module(ceph_cli(cluster), cluster.mgr_name, key_name="benchmodule") as m:
        yield Server("module", m.base_url, m.auth, trusting(m.certificate), mgr_pid(cluster), None)
