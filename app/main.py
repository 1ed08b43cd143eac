"""The app factory: `create_app(settings)` builds the app; its lifespan owns the connection."""

from __future__ import annotations

import importlib.metadata
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
from cryptography import x509
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.access_log import AccessLogMiddleware
from app.auth import KeyStore
from app.ceph.client import CephClient
from app.ceph.commands import CommandTableCache
from app.ceph.perf import PerfSchemaCache
from app.deps import check_key_before_body
from app.errors import GatewayError
from app.jobs import open_job_table
from app.metrics import GatewayMetrics
from app.models.error import ErrorResponse, ValidationIssue
from app.routers import ALL_ROUTERS
from app.routers.doc import mount_assets as mount_doc_assets
from app.settings import Settings

log = logging.getLogger(__name__)

DESCRIPTION = """\
The REST API of Ceph's manager `restful` module — same paths, same JSON — served by a
process of its own that talks to the cluster through librados.

**Authentication.** HTTP Basic: the user is a key's name, the password the key. Keys made by
`ceph restful create-key` work as admin keys (unless the gateway runs with
`--no-legacy-keys`); `cephgw create-key` makes admin or read-only ones. Reads take any key,
writes an admin key. `/`, `/doc`, `/healthz`, `/readyz` and this description need none.

**Writes are jobs.** Every change to the cluster (POST, PATCH and DELETE on /pool, PATCH
/osd/{osd_id}, POST /osd/{osd_id}/command, PATCH /config/osd, POST /request) starts a job of
mon commands in waves, as the module's "requests" were, and answers it at once (200, usually
still `pending`). With `?wait=1` (or `true`) the answer waits until the job ends, up to the
gateway's `job_wait_timeout` (then 202, the job as it stands). Follow a job on
/request/{request_id}; a command Ceph refused is in the job's `failed`, with its `outs` and
`errno`.

**Errors** are one JSON body, `{"message": ...}` (the module's key), with the status that
fits: 400 bad parameter, 401 no or wrong key, 403 read-only key or refused, 404 not found,
409 clash with the cluster's state, 422 invalid body (with `errors`), 502 unexpected Ceph
error, 503 cluster unreachable (with Retry-After), 504 Ceph too slow.
"""

# One tag per resource, in the order of the module's /doc, then the gateway's own.
OPENAPI_TAGS: list[dict[str, Any]] = [
    {"name": "root", "description": "What the API is and how to authenticate."},
    {
        "name": "config",
        "description": "The active mgr's configuration options, and the OSD map flags.",
    },
    {"name": "crush", "description": "CRUSH rules, with the OSDs each can reach."},
    {"name": "mon", "description": "Monitors: the monmap, the quorum and their hosts."},
    {
        "name": "osd",
        "description": "OSDs: their state, weights, addresses and pools; mark them in, out "
        "or down, reweight them, scrub or repair them.",
    },
    {"name": "perf", "description": "Performance counters of the mons and OSDs."},
    {"name": "pool", "description": "Pools: read, create, change and delete them."},
    {
        "name": "request",
        "description": "Jobs (the module's requests): follow and drop them, or run any mon "
        "command as one.",
    },
    {"name": "server", "description": "Hosts and the Ceph daemons on each."},
    {
        "name": "doc",
        "description": "The module's endpoint map, or Swagger UI for a browser (ReDoc on "
        "/redoc, this description on /openapi.json).",
    },
    {
        "name": "health",
        "description": "Liveness and readiness probes for a load balancer or an "
        "orchestrator; no key.",
    },
    {"name": "metrics", "description": "The gateway's own metrics, for Prometheus."},
]


def _error(
    status: int,
    message: str,
    headers: dict[str, str] | None = None,
    issues: list[ValidationIssue] | None = None,
) -> JSONResponse:
    body = ErrorResponse(message=message, errors=issues)
    return JSONResponse(body.model_dump(exclude_none=True), status_code=status, headers=headers)


async def _gateway_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, GatewayError)
    return _error(exc.status_code, exc.message, exc.headers)


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    # Starlette's own 404/405 for unknown paths get the same body as every other error.
    assert isinstance(exc, StarletteHTTPException)
    return _error(exc.status_code, str(exc.detail), dict(exc.headers or {}) or None)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    if any(e.get("type") == "json_invalid" for e in exc.errors()):
        try:
            await check_key_before_body(request)
        except GatewayError as auth_error:
            return await _gateway_error(request, auth_error)
    issues = [
        ValidationIssue(
            loc=list(e.get("loc", ())), msg=str(e.get("msg", "")), type=str(e.get("type", ""))
        )
        for e in exc.errors()
    ]
    # A bad path or query parameter, or a body that is not JSON at all, is a bad request; a
    # JSON body that fails its schema is a 422.
    not_json = any(i.type == "json_invalid" for i in issues)
    in_body = any(i.loc and i.loc[0] == "body" for i in issues)
    message = (
        "; ".join(f"{'.'.join(str(p) for p in i.loc)}: {i.msg}" for i in issues)
        or "invalid request"
    )
    if not_json:
        error = next(e for e in exc.errors() if e.get("type") == "json_invalid")
        loc = list(error.get("loc", ()))
        where = f" at character {loc[1]}" if len(loc) > 1 else ""
        reason = (error.get("ctx") or {}).get("error", error.get("msg", ""))
        message = f"the request body is not JSON: {reason}{where}"
    return _error(422 if in_body and not not_json else 400, message, issues=issues)


def create_app(settings: Settings | None = None, *, tls_certificate: str | None = None) -> FastAPI:
    """Build the gateway for `settings` (default: from the environment). Nothing connects yet.

    `tls_certificate` is the PEM the server presents, when it serves TLS (for /readyz).
    """
    settings = settings or Settings()
    metrics = GatewayMetrics()  # this app's own registry, never the process-wide one
    served_certificate = (
        x509.load_pem_x509_certificate(tls_certificate.encode()) if tls_certificate else None
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[dict[str, Any]]:
        ceph = CephClient(settings, on_call=metrics.observe_ceph_call)
        keys = KeyStore(ceph, settings)
        # On exit the job table refuses new jobs and lets running ones finish (with a grace).
        async with open_job_table(ceph, settings) as jobs, anyio.create_task_group() as tg:
            tg.start_soon(_connect_then_load_keys, ceph, keys)
            with metrics.watching(ceph, keys, jobs):  # jobs by state etc., read at scrape time
                yield {
                    "ceph": ceph,
                    "keys": keys,
                    "settings": settings,
                    "perf_cache": PerfSchemaCache(),
                    "commands": CommandTableCache(ceph),
                    "jobs": jobs,
                    "metrics": metrics,
                    "tls_certificate": served_certificate,
                }
            tg.cancel_scope.cancel()
        await ceph.aclose()

    app = FastAPI(
        title="cephgw",
        # Written once, in pyproject.toml; the package is installed (editable in .venv).
        version=importlib.metadata.version("cephgw"),
        summary="The Ceph manager restful module's REST API, served from outside the manager.",
        description=DESCRIPTION,
        openapi_tags=OPENAPI_TAGS,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.add_exception_handler(GatewayError, _gateway_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    # One JSON line per request (logger cephgw.access), and the request metrics.
    app.add_middleware(AccessLogMiddleware, observers=[metrics.observe_request])
    for router in ALL_ROUTERS:
        app.include_router(router)
    mount_doc_assets(app)  # Swagger UI's and ReDoc's files, for /doc and /redoc
    return app


async def _connect_then_load_keys(ceph: CephClient, keys: KeyStore) -> None:
    await ceph.keep_connecting()
    await keys.keep_refreshing()
