"""What the routers share: the router of a resource (matched by its prefix first), the route
class of those that take a body (JSON whatever the Content-Type says), and the response of a
cached read (its age, and whether it is stale)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.routing import APIRoute
from starlette._utils import get_route_path
from starlette.exceptions import HTTPException
from starlette.routing import Match
from starlette.types import Scope

from app.ceph.state import Answer
from app.deps import check_key_before_body
from app.errors import BadRequest

_JSON = b"application/json"


def _is_json(content_type: bytes) -> bool:
    media = content_type.split(b";", 1)[0].strip().lower()
    return media == _JSON or (media.startswith(b"application/") and media.endswith(b"+json"))


class ResourceRouter(APIRouter):
    """The router of one resource's routes, all under its prefix (`/osd`, `/request`...).

    FastAPI matches a request against every route of every router mounted before the one
    that serves it, each a regex and bookkeeping of its own: POST /request, mounted eighth,
    was tried against some forty routes first, about a sixth of its CPU in the app (cProfile
    and py-spy). A path outside the prefix cannot match any route here, so it is told so at
    once: the same answer (no match), without trying them.
    """

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        prefix = self.prefix
        if prefix and scope["type"] in ("http", "websocket"):
            path = get_route_path(scope)
            # `/osd` and `/osd/...`, not `/osdx`.
            if not path.startswith(prefix) or path[len(prefix) : len(prefix) + 1] not in ("", "/"):
                return Match.NONE, {}
        return super().matches(scope)


class JsonBodyRoute(APIRoute):
    """Reads every request body as JSON, as the restful module did.

    The module's own documentation sends its examples with `curl --data`, which labels them
    `application/x-www-form-urlencoded`; FastAPI would hand such a body over as bytes and
    answer 422 "Input should be a valid dictionary". No route takes form data, so the label
    is replaced before FastAPI looks at it; a body that is not JSON is then a 400 naming the
    JSON error (the validation error handler), and so is one that is not even text.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        if self.body_field is None:  # a route without a body (a GET): nothing to relabel
            return handler

        async def json_body_handler(request: Request) -> Response:
            headers = request.scope["headers"]
            if not any(k == b"content-type" and _is_json(v) for k, v in headers):
                scope = dict(request.scope)
                scope["headers"] = [(k, v) for k, v in headers if k != b"content-type"]
                scope["headers"].append((b"content-type", _JSON))
                request = Request(scope, request.receive)
            try:
                return await handler(request)
            except HTTPException as exc:
                # FastAPI's bare 400 "There was an error parsing the body", for a body that is
                # not UTF-8 (nor UTF-16/32): like one that is not JSON, it waits for the key
                # checks (a caller without a key gets the 401) and then says what is wrong.
                cause = exc.__cause__
                if not isinstance(cause, UnicodeDecodeError):
                    raise
                await check_key_before_body(request)
                raise BadRequest(
                    f"the request body is not JSON: not {cause.encoding.upper()} text "
                    f"({cause.reason}) at byte {cause.start}"
                ) from exc

        return json_body_handler


# RFC 9111's warn-code for a cached answer past its freshness: the cluster did not answer in
# time and the last map known was served (docs/api-guide.md).
STALE_WARNING = '110 - "Response is Stale"'


def answered(answer: Answer) -> Response:
    """A read's answer, with its `Age` (whole seconds, as HTTP caches say it) and, when the
    cluster could not refresh it in time, `Warning: 110`."""
    headers = {"Age": str(int(answer.age))}
    if answer.stale:
        headers["Warning"] = STALE_WARNING
    return Response(answer.body, media_type="application/json", headers=headers)
