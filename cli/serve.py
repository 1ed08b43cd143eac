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

A certificate replaced at its source is served without a restart (app/tls_reload.py watches
the source): under granian the worker that sees it writes the new files and sends SIGHUP to
the supervisor, which starts new workers (they read the files) and stops the old ones as on
SIGTERM, letting their requests and jobs finish; uvicorn loads it into its SSL context,
which every handshake from then on uses.
"""

from __future__ import annotations

import ctypes
import fcntl
import gc
import json
import logging
import os
import signal
import ssl
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio.to_thread
from cryptography.hazmat.primitives import serialization
from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from app.access_log import configure_access_log
from app.audit import configure_audit_log
from app.main import create_app
from app.settings import Settings
from app.tls_reload import CertificateInstaller, PemPair, ServedTls
from cli import granian_server
from cli.uvicorn_protocol import BoundedHeadProtocol

if TYPE_CHECKING:
    import uvicorn

log = logging.getLogger("cephgw")

SETTINGS_ENV = "_CEPHGW_SERVE_SETTINGS"
# The directory of crt.pem and key.pem, empty for plain HTTP: a worker started by a reload
# serves the files there, not the certificate `cephgw serve` started with.
TLS_DIR_ENV = "_CEPHGW_SERVE_TLS_DIR"
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


# glibc's mallopt(M_MMAP_THRESHOLD, ...) (<malloc.h>), and the threshold the gateway keeps.
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 1024 * 1024


def tune_malloc() -> None:
    """Large blocks (an `osd dump` answer, a GET /osd body: 6 MB each at 10,000 OSDs) from
    their own mappings, given back to the system when freed.

    glibc raises its mmap threshold to the largest block freed (up to 32 MB on 64 bits):
    after the first such answer, every later one came from the malloc heap of the thread
    that made it (librados' threads, granian's, the event loop's), and what was freed there
    stayed resident. At 10,000 OSDs, with an OSD map epoch every few seconds, the worker's
    RSS was 303 MB, 214 MB with the threshold fixed at 1 MiB (bench/osd_map_scale.py's
    cluster, GET /osd after each epoch), its GET times the same. Setting the threshold also
    turns the raising off. Elsewhere than glibc (no mallopt): left as it is.
    """
    mallopt = getattr(ctypes.CDLL(None), "mallopt", None)
    if mallopt is not None and mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) != 1:
        log.warning("mallopt(M_MMAP_THRESHOLD) refused")


def tune_logging() -> None:
    """Leave out of every log record what no line of a serving process shows.

    Each request writes one access line and, for a write, one audit line through `logging`,
    and every record looked for its caller's file and line (a walk up the stack) and noted
    its thread, process and process name: a tenth of the worker's CPU on POST
    /request?wait=1 (py-spy, 16 connections). No format of the gateway's or its servers'
    (LOG_FORMAT, JSON lines, uvicorn's) shows any of it. The switches are those of the
    logging HOWTO's "Optimization" section.
    """
    logging._srcfile = None  # findCaller: no pathname, lineno or funcName
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False


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
    names only, and the certificate may have come from config-key. Each file is replaced
    whole (renamed into place): a server reading them meanwhile sees the old or the new."""
    os.chmod(tls_dir, 0o700)
    for name, content in (("key.pem", pkcs8(key_pem.encode())), ("crt.pem", cert_pem.encode())):
        staged = Path(tls_dir, f".{name}.new")
        staged.unlink(missing_ok=True)
        fd = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(content)
        os.replace(staged, Path(tls_dir, name))


def replace_tls_files(tls_dir: Path, pair: PemPair) -> bool:
    """Write `pair` into `tls_dir` unless it is there already; True when written.

    Every worker watches the certificate and sees a change at about the same time: under an
    exclusive lock on the directory, the first writes the files and the others find them
    written, so that one reload only is asked for."""
    fd = os.open(tls_dir, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        if Path(tls_dir, "crt.pem").read_text() == pair.cert_pem:
            return False
        write_tls_files(tls_dir, pair.cert_pem, pair.key_pem)
        return True
    finally:
        os.close(fd)  # and the lock with it


def granian_installer(tls_dir: Path, supervisor: int) -> CertificateInstaller:
    """A granian worker's way to serve a new certificate: new files, then SIGHUP to the
    supervisor, which replaces every worker (this one too, which serves the old one until
    it stops: granian's TLS takes its certificate once, when a worker starts)."""

    async def install(pair: PemPair) -> bool:
        if await anyio.to_thread.run_sync(replace_tls_files, tls_dir, pair):
            log.info("new TLS certificate written; granian restarts its workers on it")
            os.kill(supervisor, signal.SIGHUP)
        return False

    return install


class UvicornCertificate:
    """uvicorn's SSL context, kept when uvicorn makes it, so that a new certificate is loaded
    into it: the connections made from then on present the new one (an SSL connection takes
    the context's certificate when it is made), those open keep theirs."""

    def __init__(self, tls_dir: Path) -> None:
        self._tls_dir = tls_dir
        self._context: ssl.SSLContext | None = None

    def context_factory(
        self, _: uvicorn.Config, default_factory: Callable[[], ssl.SSLContext]
    ) -> ssl.SSLContext:
        """uvicorn's `ssl_context_factory`: its own context, from the files, kept."""
        self._context = default_factory()
        return self._context

    async def install(self, pair: PemPair) -> bool:
        assert self._context is not None, "uvicorn makes its context before it serves"
        await anyio.to_thread.run_sync(replace_tls_files, self._tls_dir, pair)
        files = self._tls_dir / "crt.pem", self._tls_dir / "key.pem"
        # OpenSSL takes the pair in a context of its own first: one that failed half-way
        # would be left with the new certificate and no key, and every handshake would fail.
        ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(*files)
        # In the event loop, which makes the connections: none is made half-way through.
        self._context.load_cert_chain(*files)
        return True


def serving_app(settings: Settings, tls: ServedTls | None) -> FastAPI:
    """The app as a serving process runs it, after the server's own start-up."""
    # The gateway's own messages at log_level too (the servers set only their own loggers').
    logging.getLogger().setLevel(settings.log_level.upper())
    configure_access_log(sys.stdout)  # JSON lines; the servers' own access logs are off
    configure_audit_log(settings.audit_file, sys.stdout)
    app = create_app(settings, tls=tls)
    tune_logging()
    tune_garbage_collector()
    tune_malloc()
    return app


def app_from_environment() -> FastAPI:
    """granian's worker: the app from the settings `serve()` put in the environment."""
    logging.basicConfig(level=logging.INFO, format=granian_server.LOG_FORMAT)
    supervisor = int(os.environ[SUPERVISOR_ENV])
    _stop_with_supervisor(supervisor)
    settings = Settings.model_validate_json(os.environ[SETTINGS_ENV])
    tls_dir = Path(os.environ[TLS_DIR_ENV]) if os.environ.get(TLS_DIR_ENV) else None
    tls = (
        ServedTls(Path(tls_dir, "crt.pem").read_text(), granian_installer(tls_dir, supervisor))
        if tls_dir
        else None
    )
    app = serving_app(settings, tls)
    # What uvicorn does by itself: the client behind a trusted proxy is the forwarded one
    # (outermost, so that the access log sees it).
    trusted = os.environ.get("FORWARDED_ALLOW_IPS", DEFAULT_FORWARDED_ALLOW_IPS)
    app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=trusted)
    app.add_middleware(UnmappedClientAddress)
    if tls_dir is not None:  # only a new certificate reloads: the supervisor waits for it
        app.add_middleware(granian_server.MarkReady, directory=tls_dir / granian_server.READY_DIR)
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
    os.environ[TLS_DIR_ENV] = tls_dir or ""
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

    tls: ServedTls | None = None
    ssl_options: dict[str, Any] = {}
    if tls_dir and cert_pem and key_pem:
        write_tls_files(tls_dir, cert_pem, key_pem)
        certificate = UvicornCertificate(tls_dir)
        tls = ServedTls(cert_pem, certificate.install)
        ssl_options = {
            "ssl_certfile": str(tls_dir / "crt.pem"),
            "ssl_keyfile": str(tls_dir / "key.pem"),
            "ssl_context_factory": certificate.context_factory,
        }
    uvicorn.run(
        serving_app(settings, tls),
        # '::' means every address, as in the module; asyncio binds it IPv6-only, so
        # ask for every address ('') and it binds both 0.0.0.0 and '::'.
        host="" if addr == "::" else addr,
        port=port,
        log_level=settings.log_level.lower(),
        access_log=False,
        http=BoundedHeadProtocol,  # httptools, with a request head bounded as under granian
        timeout_graceful_shutdown=10,
        **ssl_options,
    )
