"""The process `cephgw serve` becomes under granian: granian's supervisor, and nothing else.

`cli/serve.py` resolves the settings and the certificate, then replaces its own process with
this module (`os.execv`), so that the process that stays for the server's lifetime holds no
app, no pydantic models and no librados state: about 30 MB instead of 80 MB, and nothing of
a cluster connection is inherited by the worker it forks. It imports granian, the standard
library and `cli.http_limits` (constants) only. The worker builds the app itself
(`cli.serve:app_from_environment`) from what `cli/serve.py` put in its environment.
"""

from __future__ import annotations

import copy
import json
import logging
import multiprocessing.connection
import multiprocessing.process
import os
import shutil
import time
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

from granian import Granian
from granian.constants import HTTPModes, Interfaces, Loops, SSLProtocols
from granian.http import HTTP1Settings
from granian.log import LOGGING_CONFIG, LogLevels
from granian.log import logger as granian_log
from granian.server import MPServer

from cli.http_limits import HEAD_READ_TIMEOUT, MAX_HEAD_BYTES

# What `cli/serve.py` hands over: {"addr", "port", "workers", "log_level", "kill_timeout",
# "tls_dir"}.
LAUNCH_ENV = "_CEPHGW_GRANIAN_LAUNCH"
APP_FACTORY = "cli.serve:app_from_environment"
# Seconds an old worker serves beside its replacement on a reload (SIGHUP), once the
# replacement started its app (and so accepts connections).
RELOAD_OVERLAP = 0.25
# Seconds a reload waits for the replacement to start its app before stopping the old one
# anyway (a replacement that dies is not waited for).
READY_LIMIT = 60.0
# Under the TLS directory: a file named by its pid for each worker whose app started.
READY_DIR = "ready"
# The format of every log line but the access log's, whatever the server (cli/main.py too).
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def log_config() -> dict[str, Any]:
    """granian's logging set-up with the gateway's line format for its own messages."""
    config: dict[str, Any] = copy.deepcopy(LOGGING_CONFIG)
    # granian replaces whole top-level sections with ours: keep its formatters, change one.
    config["formatters"]["generic"] = {"()": "logging.Formatter", "fmt": LOG_FORMAT}
    return config


def http1_settings() -> HTTP1Settings:
    """granian's HTTP/1 defaults but for a request head's bounds (cli/http_limits.py)."""
    # hyper refuses a head that does not fit its read buffer (431); bodies are read in
    # pieces of it whatever its size. Its header read timeout also ends idle keep-alive
    # connections.
    return HTTP1Settings(
        header_read_timeout=HEAD_READ_TIMEOUT * 1000, max_buffer_size=MAX_HEAD_BYTES
    )


ASGIApp = Callable[
    [MutableMapping[str, Any], Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]],
    Awaitable[None],
]


class MarkReady:
    """ASGI wrapper of a worker's app: once its lifespan started (the app can answer), a file
    named by the worker's pid in `directory` tells the supervisor (`ReloadingServer`)."""

    def __init__(self, app: ASGIApp, directory: Path) -> None:
        self.app = app
        self.directory = directory

    async def __call__(
        self,
        scope: MutableMapping[str, Any],
        receive: Callable[[], Awaitable[Any]],
        send: Callable[[Any], Awaitable[None]],
    ) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return

        async def sending(message: Any) -> None:
            await send(message)
            if message.get("type") == "lifespan.startup.complete":
                self.directory.mkdir(exist_ok=True)
                (self.directory / str(os.getpid())).touch()

        await self.app(scope, receive, sending)


def stopped_within(process: multiprocessing.process.BaseProcess, timeout: float | None) -> bool:
    """Whether `process` ended within `timeout` seconds (None: waits until it did).

    Not `join(timeout)` then `is_alive()`: granian's own watcher thread joins every worker
    too, and when it reaps the process first, ours finds no child to wait for (ECHILD) and
    `is_alive()` says True until that thread has stored the exit code, so a worker that
    stopped at once was reported as refusing to stop, and killed. The sentinel (a pipe the
    process holds open) says it ended, whoever reaps it.
    """
    return bool(multiprocessing.connection.wait([process.sentinel], timeout))


class ReloadingServer(MPServer):
    """granian's server, but a reload (SIGHUP: a new certificate) stops each old worker only
    once its replacement has started its app, then RELOAD_OVERLAP later. granian itself stops
    it `respawn_interval` after the replacement was spawned, ready or not: on a busy host a
    worker takes seconds to import the app, and new connections waited unanswered meanwhile.

    This replaces granian's `_respawn_workers` (granian is pinned below 3 for it); a worker
    replaced after a crash is left to granian (there is no old one to keep).
    """

    ready_dir: Path | None = None

    def _respawn_workers(
        self, workers: Any, spawn_target: Any, target_loader: Any, delay: float = 0
    ) -> None:
        if not delay or self.ready_dir is None:
            super()._respawn_workers(workers, spawn_target, target_loader, delay)
            return
        # granian's own steps and messages, but every replacement is started at once (the
        # reload then takes one worker's start, however many there are) and waited for.
        replaced: list[tuple[int, Any]] = []  # granian's workers are untyped
        for idx in workers:
            self.respawned_wrks[idx] = time.monotonic()
            granian_log.info(f"Respawning worker-{idx + 1}")
            replaced.append((idx, self.wrks[idx]))
            new: Any = self._spawn_worker(
                idx=idx, target=spawn_target, callback_loader=target_loader
            )
            new.start()
            self.wrks[idx] = new
        for idx, _ in replaced:
            self._wait_ready(self.wrks[idx])
        time.sleep(delay)
        for idx, old in replaced:
            granian_log.info(f"Stopping old worker-{idx + 1}")
            old.terminate()
        for idx, old in replaced:
            if not stopped_within(old.inner, self.workers_kill_timeout):
                granian_log.warning(f"Killing old worker-{idx + 1} after it refused to stop")
                old.kill()
                old.join()
            granian_log.info(f"Stopped old worker-{idx + 1}")

    def _wait_ready(self, worker: Any) -> None:
        assert self.ready_dir is not None
        mark = self.ready_dir / str(worker.inner.pid)
        started = time.monotonic()
        while not mark.exists():
            if not worker.is_alive() or time.monotonic() - started > READY_LIMIT:
                granian_log.warning(
                    f"worker-{worker.idx + 1} did not start its app: the old one stops now"
                )
                return
            time.sleep(0.05)
        granian_log.info(
            f"worker-{worker.idx + 1} started its app in {time.monotonic() - started:.1f} s"
        )


def main() -> None:
    launch = json.loads(os.environ.pop(LAUNCH_ENV))
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    tls_dir = Path(launch["tls_dir"]) if launch["tls_dir"] else None
    try:
        # granian's own class is MPServer on a Python with a GIL (Debian's): then ours.
        server_class = ReloadingServer if Granian is MPServer else Granian
        server = server_class(
            APP_FACTORY,
            factory=True,
            address=launch["addr"],
            port=launch["port"],
            interface=Interfaces.ASGI,  # with the lifespan: cluster connection, job table
            # Each worker a gateway of its own (its connection, caches and job table); more
            # than one only with the shared job store (Settings refuses others).
            workers=launch["workers"],
            loop=Loops.uvloop,
            log_level=LogLevels(launch["log_level"].lower()),
            log_dictconfig=log_config(),
            log_access=False,  # the gateway writes its own access log (app/access_log.py)
            ssl_cert=tls_dir / "crt.pem" if tls_dir else None,
            ssl_key=tls_dir / "key.pem" if tls_dir else None,
            ssl_protocol_min=SSLProtocols.tls12,
            # HTTP/1.1 only, as under uvicorn (and the restful module). granian's default
            # also speaks HTTP/2 over TLS (ALPN), and then waits for a connection's first
            # bytes with no timeout at all: a client that completed the handshake and sent
            # nothing was held for ever.
            http=HTTPModes.http1,
            http1_settings=http1_settings(),
            # SIGTERM: the worker's lifespan lets running jobs finish; killed only after that.
            workers_kill_timeout=launch["kill_timeout"],
            # On SIGHUP (a new certificate, cli/serve.py) each new worker starts, then the
            # old one is stopped this many seconds after the new one's app started
            # (ReloadingServer): they share the socket meanwhile, and the old one still
            # presents the old certificate. granian's default, 3.5 s, would leave it served
            # longer than the 5 s a reload is given.
            respawn_interval=RELOAD_OVERLAP,
        )
        if isinstance(server, ReloadingServer) and tls_dir is not None:
            server.ready_dir = tls_dir / READY_DIR
        server.serve()
    finally:
        if tls_dir:
            shutil.rmtree(tls_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
