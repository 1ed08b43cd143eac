"""The access log: one JSON line per request, written by an ASGI middleware that only observes.

Each line holds who asked (the key name the auth dependency put on `request.state.key_name`,
and the client address), what (method, route template, path without its query string) and
how it went (status, duration in ms). Never a header, a query string or a body: nothing in a
line can be a secret. JSON escaping keeps a path with a newline on one line.

The middleware measures each request once and hands the same `RequestRecord` to other
observers too (the metrics, the audit of writes), so that the logs and the counters always
agree. The record also carries what the audit needs and this log leaves out: the key's role
and the job a write made (`request.state.key_role`, `.job_id`, `.job_state`).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import IO

from starlette.types import ASGIApp, Message, Receive, Scope, Send

LOGGER_NAME = "cephgw.access"
# The route label of a request that matched no route (a 404): one label for every such
# path, so that scanning for URLs cannot grow the metrics.
UNMATCHED_ROUTE = "<unmatched>"

log = logging.getLogger(LOGGER_NAME)

# What `json.dumps(..., separators=(",", ":"))` writes, without making an encoder a line.
COMPACT_JSON = json.JSONEncoder(separators=(",", ":"))


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """One finished request, as the access log, the metrics and the audit see it."""

    started: float  # wall clock (epoch seconds) when the request arrived
    client: str | None
    key: str | None
    method: str
    route: str
    path: str
    status: int
    duration: float  # seconds
    role: str | None = None  # the key's, once it was accepted
    job_id: str | None = None  # the job a write made
    job_state: str | None = None  # that job's, when the request waited for it


def format_access_line(record: RequestRecord) -> str:
    """The JSON line of one request (no newline in it, whatever the path holds)."""
    started = dt.datetime.fromtimestamp(record.started, dt.UTC)
    return COMPACT_JSON.encode(
        {
            "time": started.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "client": record.client,
            "key": record.key,
            "method": record.method,
            "route": record.route,
            "path": record.path,
            "status": record.status,
            "duration_ms": round(record.duration * 1000, 3),
        }
    )


def route_template(scope: Scope) -> str:
    """The path template of the route that handled the request (`/osd/{osd_id}`)."""
    route = scope.get("route")
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    return template if isinstance(template, str) else UNMATCHED_ROUTE


def record_of(scope: Scope, status: int, started: float, duration: float) -> RequestRecord:
    """Build the record of a finished request from its (routed) ASGI scope."""
    client = scope.get("client")
    state = scope.get("state") or {}
    return RequestRecord(
        started=started,
        client=str(client[0]) if client else None,
        key=_text(state.get("key_name")),
        method=str(scope.get("method", "")),
        route=route_template(scope),
        path=str(scope.get("path", "")),
        status=status,
        duration=duration,
        role=_text(state.get("key_role")),
        job_id=_text(state.get("job_id")),
        job_state=_text(state.get("job_state")),
    )


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


RequestObserver = Callable[[RequestRecord], None]


class AccessLogMiddleware:
    """Logs one line per HTTP request to `cephgw.access` and tells `observers` about it.

    It changes nothing and catches nothing: an exception from the app goes on up (to
    Starlette's error middleware, which answers 500), after the line for it is written
    with status 500.
    """

    def __init__(self, app: ASGIApp, observers: Sequence[RequestObserver] = ()) -> None:
        self.app = app
        self.observers = tuple(observers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.time()
        start = time.perf_counter()
        # What the client gets when the app raises before it answers (the error middleware
        # outside this one turns the exception into a 500).
        status = 500

        async def observe_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, observe_send)
        finally:
            record = record_of(scope, status, started, time.perf_counter() - start)
            if log.isEnabledFor(logging.INFO):
                log.info(format_access_line(record))
            for observer in self.observers:
                observer(record)


def configure_access_log(stream: IO[str]) -> None:
    """Write the access log's lines to `stream` as they are (no prefix: each line is JSON),
    apart from the gateway's other log messages. `cephgw serve` calls it; tests do not."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(message)s"))
    log.handlers[:] = [handler]
    log.propagate = False
    log.setLevel(logging.INFO)
