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
import os
import shutil
from pathlib import Path
from typing import Any

from granian import Granian
from granian.constants import HTTPModes, Interfaces, Loops, SSLProtocols
from granian.http import HTTP1Settings
from granian.log import LOGGING_CONFIG, LogLevels

from cli.http_limits import HEAD_READ_TIMEOUT, MAX_HEAD_BYTES

# What `cli/serve.py` hands over: {"addr", "port", "workers", "log_level", "kill_timeout",
# "tls_dir"}.
LAUNCH_ENV = "_CEPHGW_GRANIAN_LAUNCH"
APP_FACTORY = "cli.serve:app_from_environment"
# Seconds an old worker serves beside its replacement on a reload (SIGHUP).
RELOAD_OVERLAP = 1.0
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


def main() -> None:
    launch = json.loads(os.environ.pop(LAUNCH_ENV))
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    tls_dir = Path(launch["tls_dir"]) if launch["tls_dir"] else None
    try:
        Granian(
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
            # old one is stopped this many seconds later: they share the socket meanwhile,
            # and the old one still presents the old certificate. granian's default, 3.5 s,
            # would leave it served longer than the 5 s a reload is given.
            respawn_interval=RELOAD_OVERLAP,
        ).serve()
    finally:
        if tls_dir:
            shutil.rmtree(tls_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
