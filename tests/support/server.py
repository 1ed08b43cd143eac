"""Gateways the tests start: the app in process with settings of its own, and `cephgw serve`
as a user runs it (the installed console script), over TLS for the SDK and browser tests.

The TLS gateway's certificate is made by `cephgw create-self-signed-cert --mgr-name NAME` and
read back from config-key, so that clients can trust exactly it; both are removed afterwards.
Its output goes to a file (a pipe nobody reads would stall it once full), shown on a failure.
The certificate a server presents is read as a client sees it, with `openssl s_client`.
"""

from __future__ import annotations

import os
import signal
import socket
import ssl
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from cryptography import x509
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import ServerName, Settings
from cli.dev_cluster import DevCluster
from tests.support import ask_until, wait_until
from tests.support.cluster import ceph_cli

Auth = tuple[str, str]

CEPHGW = str(Path(sys.executable).with_name("cephgw"))


def cephgw(
    cluster: DevCluster, *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run the installed console script; cluster options through CEPH_CONF, as a user might."""
    full_env = {**os.environ, "CEPH_CONF": str(cluster.conf), **(env or {})}
    return subprocess.run(
        [CEPHGW, *args, "--keyring", str(cluster.keyring)],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
        check=False,
    )


def free_port() -> int:
    """A loopback TCP port nothing listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def stop_server(proc: subprocess.Popen[Any], timeout: float = 15) -> None:
    """SIGTERM a server the test (or bench) started, as an operator would; SIGKILL if it
    hangs."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def answered(
    proc: subprocess.Popen[str], request: Callable[[], httpx.Response]
) -> httpx.Response | None:
    """`request`'s answer from the server `proc` runs, None while it does not listen yet; the
    server must not have exited meanwhile."""
    try:
        return request()
    except httpx.TransportError:
        assert proc.poll() is None, proc.communicate()[0]
        return None


# -- in process ---------------------------------------------------------------------------------


def wait_until_ready(
    client: TestClient,
    path: str,
    auth: Auth | None = None,
    *,
    limit: float = 30,
    interval: float = 0.2,
) -> None:
    """Until GET `path` (with `auth`) answers 200: the app's lifespan has connected to the
    cluster and loaded the keys."""
    ask_until(
        lambda: client.get(path, auth=auth),
        lambda r: r.status_code == 200,
        f"the gateway answers GET {path} with 200",
        limit,
        interval,
        show=lambda r: f"{r.status_code} {r.text[:500]}",
    )


@contextmanager
def gateway(settings: Settings, auth: Auth, **update: Any) -> Iterator[TestClient]:
    """A gateway of its own (its own job table) with some settings changed."""
    with TestClient(create_app(settings.model_copy(update=update))) as test_client:
        wait_until_ready(test_client, "/request", auth, interval=0.1)
        yield test_client


# -- `cephgw serve` over TLS --------------------------------------------------------------------


@dataclass(frozen=True)
class Gateway:
    url: str  # https://127.0.0.1:PORT
    cert_pem: str  # the self-signed certificate it serves
    log: Path  # what the server printed
    pid: int  # of `cephgw serve` (under granian, its supervisor; the worker is its child)

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def ssl_context(self) -> ssl.SSLContext:
        """Trusts this gateway's certificate only (its SAN has 127.0.0.1)."""
        return ssl.create_default_context(cadata=self.cert_pem)

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@contextmanager
def serve_tls(
    cluster: DevCluster,
    mgr_name: str,
    admin_auth: Auth,
    log: Path,
    *,
    server: ServerName | None = None,
) -> Iterator[Gateway]:
    """`cephgw serve --mgr-name MGR_NAME` with a fresh self-signed certificate, once ready;
    under `server` when given, else the default one."""
    with self_signed_certificate(cluster, mgr_name) as cert_pem:
        port = free_port()
        args = ["--server", server] if server else []
        with serving_process(cluster, mgr_name, port, log, *args) as proc:
            gateway = Gateway(f"https://127.0.0.1:{port}", cert_pem, log, pid=proc.pid)
            wait_serving(proc, gateway, admin_auth)
            yield gateway


@contextmanager
def self_signed_certificate(cluster: DevCluster, mgr_name: str) -> Iterator[str]:
    """`cephgw create-self-signed-cert --mgr-name MGR_NAME`: its PEM; removed afterwards."""
    made = cephgw(cluster, "create-self-signed-cert", "--mgr-name", mgr_name)
    assert made.returncode == 0, made.stderr
    try:
        yield ceph_cli(cluster, "config-key", "get", f"mgr/restful/{mgr_name}/crt")
    finally:
        for what in ("crt", "key"):
            ceph_cli(cluster, "config-key", "rm", f"mgr/restful/{mgr_name}/{what}")


@contextmanager
def serving_process(
    cluster: DevCluster,
    mgr_name: str,
    port: int,
    log: Path,
    *args: str,
    env: dict[str, str] | None = None,
) -> Iterator[subprocess.Popen[str]]:
    """`cephgw serve --mgr-name MGR_NAME` on 127.0.0.1:PORT, its output in `log`; stopped
    with SIGTERM afterwards (if still running)."""
    command = [CEPHGW, "serve", "--conf", str(cluster.conf), "--keyring", str(cluster.keyring)]
    command += ["--mgr-name", mgr_name, "--addr", "127.0.0.1", "--port", str(port), *args]
    with log.open("a") as out:
        proc = subprocess.Popen(
            command,
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, **(env or {})},
        )
    try:
        yield proc
    finally:
        stop_server(proc)


def wait_serving(proc: subprocess.Popen[str], gateway: Gateway, auth: Auth) -> None:
    """Until the gateway answers GET /pool with 200: listening comes before the cluster
    connection and the keys."""
    with httpx.Client(verify=gateway.ssl_context(), timeout=10) as http:

        def ready() -> bool:
            assert proc.poll() is None, gateway.output()
            try:
                return http.get(f"{gateway.url}/pool", auth=auth).status_code == 200
            except httpx.TransportError:
                return False

        what = f"cephgw serve on {gateway.url} answers GET /pool with 200"
        wait_until(ready, what, limit=30, interval=0.2, detail=gateway.output)


@contextmanager
def shown_on_failure(gateway: Gateway) -> Iterator[None]:
    """Print what the server logged meanwhile: pytest shows it for a test that failed."""
    start = gateway.log.stat().st_size
    yield
    with gateway.log.open(errors="replace") as f:
        f.seek(start)
        print(f"--- cephgw serve output ({gateway.log}):\n{f.read()}")


# -- the certificate a server presents ------------------------------------------------------

# The promise: a certificate replaced at its source is served within this many seconds.
CERTIFICATE_RELOAD_LIMIT = 5.0


def serial_of(cert_pem: str) -> int:
    return x509.load_pem_x509_certificate(cert_pem.encode()).serial_number


def served_serial(port: int) -> int | None:
    """The serial of the certificate a new TLS connection to 127.0.0.1:PORT is shown, as
    `openssl s_client` sees it; None when no handshake is made (a worker stopping, the next
    not accepting yet)."""
    shown = subprocess.run(
        ["openssl", "s_client", "-connect", f"127.0.0.1:{port}"],
        input="",
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    ).stdout
    serial = subprocess.run(
        ["openssl", "x509", "-noout", "-serial"],
        input=shown,
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    ).stdout
    return int(serial.removeprefix("serial="), 16) if serial.startswith("serial=") else None


def served_alone_since(ports: Sequence[int], serial: int, until: float) -> list[float]:
    """For each port, when (time.monotonic()) every new connection to it was shown the
    certificate `serial` from then on: connections are made to each port in turn until
    `until`, and that time is the first after the last one shown another (granian's old
    worker accepts beside the new one for a while). Asserts the last one was shown it."""
    seen: dict[int, list[tuple[float, int | None]]] = {port: [] for port in ports}
    while time.monotonic() < until:
        for port in ports:
            seen[port].append((time.monotonic(), served_serial(port)))
        time.sleep(0.05)
    alone = []
    for port, shown in seen.items():
        assert shown[-1][1] == serial, (port, shown)
        others = [t for t, s in shown if s != serial]
        alone.append(min(t for t, s in shown if s == serial and t > max(others, default=0)))
    return alone


def agreed_tls_version(port: int, version: ssl.TLSVersion) -> str:
    """The TLS version agreed when the client offers `version` alone, or the server's refusal."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.set_ciphers("ALL:@SECLEVEL=0")  # lets this client offer TLS 1.1 at all
    with warnings.catch_warnings():  # TLS 1.1 is deprecated: offering it is the point
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = context.maximum_version = version
    try:
        with (
            socket.create_connection(("127.0.0.1", port), timeout=5) as sock,
            context.wrap_socket(sock) as tls,
        ):
            return str(tls.version())
    except ssl.SSLError as exc:
        return f"refused: {exc}"
