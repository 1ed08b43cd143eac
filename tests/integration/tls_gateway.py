"""A real `cephgw serve` over TLS, as a user runs it, for the SDK and browser tests.

Its certificate is made by `cephgw create-self-signed-cert --mgr-name NAME` and read back from
config-key, so that clients can trust exactly it; both are removed afterwards. The server's
output goes to a file (a pipe nobody reads would stall it once full), shown on a failure.
"""

from __future__ import annotations

import os
import ssl
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from cli.dev_cluster import DevCluster
from tests.integration.cli.test_main import CEPHGW, cephgw, free_port
from tests.integration.conftest import ceph_cli, stop_server


@dataclass(frozen=True)
class Gateway:
    url: str  # https://127.0.0.1:PORT
    cert_pem: str  # the self-signed certificate it serves
    log: Path  # what the server printed

    def ssl_context(self) -> ssl.SSLContext:
        """Trusts this gateway's certificate only (its SAN has 127.0.0.1)."""
        return ssl.create_default_context(cadata=self.cert_pem)

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@contextmanager
def serve_tls(
    cluster: DevCluster, mgr_name: str, admin_auth: tuple[str, str], log: Path
) -> Iterator[Gateway]:
    """`cephgw serve --mgr-name MGR_NAME` with a fresh self-signed certificate, once ready."""
    made = cephgw(cluster, "create-self-signed-cert", "--mgr-name", mgr_name)
    assert made.returncode == 0, made.stderr
    port = free_port()
    args = [CEPHGW, "serve", "--conf", str(cluster.conf), "--keyring", str(cluster.keyring)]
    args += ["--mgr-name", mgr_name, "--addr", "127.0.0.1", "--port", str(port)]
    try:
        cert_pem = ceph_cli(cluster, "config-key", "get", f"mgr/restful/{mgr_name}/crt")
        gateway = Gateway(url=f"https://127.0.0.1:{port}", cert_pem=cert_pem, log=log)
        with log.open("w") as out:
            proc = subprocess.Popen(
                args, stdout=out, stderr=subprocess.STDOUT, text=True, env=dict(os.environ)
            )
        try:
            # Listening comes before the cluster connection and the keys: wait for a 200.
            deadline = time.monotonic() + 30
            with httpx.Client(verify=gateway.ssl_context(), timeout=10) as http:
                while True:
                    assert proc.poll() is None, gateway.output()
                    try:
                        if http.get(f"{gateway.url}/pool", auth=admin_auth).status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    assert time.monotonic() < deadline, "never ready:\n" + gateway.output()
                    time.sleep(0.2)
            yield gateway
        finally:
            stop_server(proc)
    finally:
        for what in ("crt", "key"):
            ceph_cli(cluster, "config-key", "rm", f"mgr/restful/{mgr_name}/{what}")


@contextmanager
def shown_on_failure(gateway: Gateway) -> Iterator[None]:
    """Print what the server logged meanwhile: pytest shows it for a test that failed."""
    start = gateway.log.stat().st_size
    yield
    with gateway.log.open(errors="replace") as f:
        f.seek(start)
        print(f"--- cephgw serve output ({gateway.log}):\n{f.read()}")
