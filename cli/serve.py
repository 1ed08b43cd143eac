"""Serving the app once `cephgw serve` has resolved where and with which certificate.

Two servers, one behaviour (TLS 1.2 or newer from the resolved certificate, the gateway's
JSON access and audit logs, `X-Forwarded-For` trusted from FORWARDED_ALLOW_IPS, running jobs
finished on SIGTERM):

- granian (the default): a Rust HTTP server with its own TLS. `make bench` measures it ahead
  of uvicorn on the same app (README, performance). This process writes the certificate to a
  private directory and replaces itself with `cli/granian_server.py`, which forks the
  workers (`--workers`, default 1); each builds the app with `app_from_environment()`.
- uvicorn (`--server uvicorn`): in this process, with uvloop and httptools (with the bounds
  of `cli/http_limits.py` on a request's head, which granian has by itself).
"""

from __future__ import annotations

import ctypes
import gc
import json
import logging
import os
import signal
import sys
import tempfile
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from app.access_log import configure_access_log
from app.audit import configure_audit_log
from app.main import create_app
from app.settings import Settings
from cli import granian_server
from cli.uvicorn_protocol import BoundedHeadProtocol

log = logging.getLogger("cephgw")

SETTINGS_ENV = "_CEPHGW_SERVE_SETTINGS"
CERTIFICATE_ENV = "_CEPHGW_SERVE_CERTIFICATE"
SUPERVISOR_ENV = "_CEPHGW_SERVE_SUPERVISOR"
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
# uvicorn's own default, kept whatever the server.
DEFAULT_FORWARDED_ALLOW_IPS = "127.0.0.1,::1"
IPV4_MAPPED = "::ffff:"
# Seconds granian waits beyond the jobs' grace before it kills a worker that does not stop.
KILL_MARGIN = 10

# Allocations between two collections of the youngest generation (Python's default: 700).
GC_YOUNG_THRESHOLD = 20_000


def tune_garbage_collector() -> None:
    """Keep the cyclic garbage collector off the request path of a serving process.

    A gateway holds thousands of finished jobs and all the objects of its app: with Python's
    defaults, collections ran every few hundred requests and walked all of it, the writes'
    p99 went to 50-100 ms and their req/s down by a quarter (bench: POST /request?wait=1 at
    16 connections, 1,250 vs 1,700 req/s with the collector off). What exists once the app is
    built lives as long as the process: frozen, it is never walked again; and the youngest
    generation is collected after 20,000 allocations instead of 700.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, 20, 20)


def pkcs8(key_pem: bytes) -> bytes:
    """The private key as PKCS#8 PEM, which granian's TLS (rustls) wants; any PEM form in."""
    key = serialization.load_pem_private_key(key_pem, password=None)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def write_tls_files(tls_dir: Path, cert_pem: str, key_pem: str) -> None:
    """crt.pem and key.pem in `tls_dir`, readable by this user only: both servers take file
    names only, and the certificate may have come from config-key."""
    os.chmod(tls_dir, 0o700)
    Path(tls_dir, "crt.pem").write_text(cert_pem)
    key_file = Path(tls_dir, "key.pem")
    key_file.touch(mode=0o600)
    key_file.write_bytes(pkcs8(key_pem.encode()))


def serving_app(settings: Settings, cert_pem: str | None) -> FastAPI:
    """The app as a serving process runs it, after the server's own start-up."""
    configure_access_log(sys.stdout)  # JSON lines; the servers' own access logs are off
    configure_audit_log(settings.audit_file, sys.stdout)
    app = create_app(settings, tls_certificate=cert_pem)
    tune_garbage_collector()
    return app


def app_from_environment() -> FastAPI:
    """granian's worker: the app from the settings `serve()` put in the environment."""
    logging.basicConfig(level=logging.INFO, format=granian_server.LOG_FORMAT)
    _stop_with_supervisor(int(os.environ[SUPERVISOR_ENV]))
    settings = Settings.model_validate_json(os.environ[SETTINGS_ENV])
    app = serving_app(settings, os.environ.get(CERTIFICATE_ENV) or None)
    # What uvicorn does by itself: the client behind a trusted proxy is the forwarded one
    # (outermost, so that the access log sees it).
    trusted = os.environ.get("FORWARDED_ALLOW_IPS", DEFAULT_FORWARDED_ALLOW_IPS)
    app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=trusted)
    app.add_middleware(UnmappedClientAddress)
    return app


def _stop_with_supervisor(supervisor: int) -> None:
    """A worker whose supervisor dies (SIGKILL, OOM) gets SIGTERM and stops as on a normal
    shutdown: otherwise it serves on alone, holding the port, unseen by whoever stopped the
    gateway's process."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM) != 0:
        log.warning("prctl(PR_SET_PDEATHSIG): errno %d", ctypes.get_errno())
    if os.getppid() != supervisor:  # it died before prctl took effect
        os.kill(os.getpid(), signal.SIGTERM)


class UnmappedClientAddress:
    """An IPv4 client as a.b.c.d, not ::ffff:a.b.c.d.

    granian binds '::' as one dual-stack socket, where IPv4 clients arrive IPv4-mapped;
    uvicorn binds 0.0.0.0 and '::' apart. The access log and FORWARDED_ALLOW_IPS
    (127.0.0.1 by default) see the address as under uvicorn.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        client = scope.get("client")
        if client and client[0].startswith(IPV4_MAPPED) and "." in client[0]:
            scope = {**scope, "client": (client[0].removeprefix(IPV4_MAPPED), client[1])}
        await self.app(scope, receive, send)


def serve(
    settings: Settings, addr: str, port: int, cert_pem: str | None, key_pem: str | None
) -> None:
    """Serve until SIGTERM or SIGINT; under granian this process is replaced."""
    scheme = "http" if settings.insecure_http else "https"
    shown = f"[{addr}]" if ":" in addr else addr
    log.info("serving on %s://%s:%d with %s", scheme, shown, port, settings.server)
    if settings.server == "granian":
        _exec_granian(settings, addr, port, cert_pem, key_pem)
    with tempfile.TemporaryDirectory(prefix="cephgw-tls-") as tls_dir:
        _serve_uvicorn(settings, addr, port, Path(tls_dir) if cert_pem else None, cert_pem, key_pem)


def _exec_granian(
    settings: Settings, addr: str, port: int, cert_pem: str | None, key_pem: str | None
) -> None:
    # granian_server removes the directory when it stops.
    tls_dir = tempfile.mkdtemp(prefix="cephgw-tls-") if cert_pem and key_pem else None
    if tls_dir and cert_pem and key_pem:
        write_tls_files(Path(tls_dir), cert_pem, key_pem)
    os.environ[SETTINGS_ENV] = settings.model_dump_json()
    os.environ[CERTIFICATE_ENV] = cert_pem or ""
    os.environ[SUPERVISOR_ENV] = str(os.getpid())  # execv keeps the process id
    os.environ[granian_server.LAUNCH_ENV] = json.dumps(
        {
            "addr": addr,
            "port": port,
            "workers": settings.workers,
            "log_level": settings.log_level,
            "kill_timeout": int(settings.job_shutdown_grace) + KILL_MARGIN,
            "tls_dir": tls_dir,
        }
    )
    sys.stdout.flush()
    sys.stderr.flush()
    # -P: the working directory is not put on the path; the worker imports cli.serve from
    # wherever this one came from.
    os.execv(sys.executable, [sys.executable, "-P", "-m", "cli.granian_server"])  # noqa: S606


def _serve_uvicorn(
    settings: Settings,
    addr: str,
    port: int,
    tls_dir: Path | None,
    cert_pem: str | None,
    key_pem: str | None,
) -> None:
    import uvicorn

    ssl: dict[str, str] = {}
    if tls_dir and cert_pem and key_pem:
        write_tls_files(tls_dir, cert_pem, key_pem)
        ssl = {"ssl_certfile": str(tls_dir / "crt.pem"), "ssl_keyfile": str(tls_dir / "key.pem")}
    uvicorn.run(
        serving_app(settings, cert_pem),
        # '::' means every address, as in the module; asyncio binds it IPv6-only, so
        # ask for every address ('') and it binds both 0.0.0.0 and '::'.
        host="" if addr == "::" else addr,
        port=port,
        log_level=settings.log_level.lower(),
        access_log=False,
        http=BoundedHeadProtocol,  # httptools, with a request head bounded as under granian
        timeout_graceful_shutdown=10,
        **ssl,  # type: ignore[arg-type]
    )
