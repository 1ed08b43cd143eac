"""The ceiling: cephgw's own app, where GET /osd answers a precomputed body.

`make_app()` is `app.main.create_app` (its lifespan, cluster connection, key store, access
log and metrics middleware, exception handlers) with one route put in front of the real
GET /osd: the same HTTP Basic key check (`KeyDep`), then the bytes of a GET /osd answer
fetched once from cephgw. What it serves per second is what the gateway's stack can serve
when the work of a request (mon commands, shaping, serialising) costs nothing: the ceiling
of any cache.

    python bench/ceiling.py --server uvicorn|granian --port P --cert C --key K --body B

with the cluster given as cephgw serve takes it from the environment (CEPHGW_CONF,
CEPHGW_KEYRING, CEPHGW_MGR_NAME). uvicorn runs as `cephgw serve` runs it (uvloop, httptools,
Python's TLS); granian is a Rust HTTP server with its own TLS (rustls), which wants the key
as PKCS#8: it is converted here whatever form it came in.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from fastapi import FastAPI, Response

from app.access_log import configure_access_log
from app.deps import KeyDep
from app.main import create_app
from app.settings import Settings
from cli.serve import pkcs8

BODY_ENV = "CEPHGW_BENCH_CEILING_BODY"  # not a setting: Settings ignores unknown CEPHGW_*


def make_app() -> FastAPI:
    """The ceiling app, its body read from the file $CEPHGW_BENCH_CEILING_BODY names."""
    body = Path(os.environ[BODY_ENV]).read_bytes()
    configure_access_log(sys.stdout)  # as `cephgw serve` does; in the serving process
    app = create_app(Settings())

    async def precomputed_osd(_key: KeyDep) -> Response:
        return Response(body, media_type="application/json")

    app.add_api_route("/osd", precomputed_osd, methods=["GET"], include_in_schema=False)
    app.router.routes.insert(0, app.router.routes.pop())  # matched before the real /osd
    return app


def serve_uvicorn(args: argparse.Namespace) -> None:
    import uvicorn

    uvicorn.run(
        make_app(),
        host=args.addr,
        port=args.port,
        loop="uvloop",
        http="httptools",
        log_level="warning",
        access_log=False,
        ssl_certfile=str(args.cert),
        ssl_keyfile=str(args.key),
    )


def serve_granian(args: argparse.Namespace) -> None:
    from granian import Granian
    from granian.constants import Interfaces, Loops
    from granian.log import LogLevels

    with tempfile.TemporaryDirectory(prefix="cephgw-ceiling-") as tmp:
        os.chmod(tmp, 0o700)
        key = Path(tmp, "key.pem")
        key.touch(mode=0o600)
        key.write_bytes(pkcs8(args.key.read_bytes()))
        os.environ[BODY_ENV] = str(args.body)
        Granian(
            # The worker process imports this file by name (bench/ is first on its path).
            "ceiling:make_app",
            factory=True,
            address=args.addr,
            port=args.port,
            interface=Interfaces.ASGI,  # with the lifespan, which connects to the cluster
            workers=1,
            loop=Loops.uvloop,
            log_level=LogLevels.warning,
            ssl_cert=args.cert,
            ssl_key=key,
        ).serve()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", choices=["uvicorn", "granian"], required=True)
    parser.add_argument("--addr", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--cert", type=Path, required=True, help="PEM certificate")
    parser.add_argument("--key", type=Path, required=True, help="PEM private key (any form)")
    parser.add_argument("--body", type=Path, required=True, help="the GET /osd answer to serve")
    args = parser.parse_args()
    os.environ[BODY_ENV] = str(args.body)
    serve_uvicorn(args) if args.server == "uvicorn" else serve_granian(args)


if __name__ == "__main__":
    main()
