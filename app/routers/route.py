"""The route class of every router that takes a body: JSON whatever the Content-Type says."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

_JSON = b"application/json"


def _is_json(content_type: bytes) -> bool:
    media = content_type.split(b";", 1)[0].strip().lower()
    return media == _JSON or (media.startswith(b"application/") and media.endswith(b"+json"))


class JsonBodyRoute(APIRoute):
    """Reads every request body as JSON, as the restful module did.

    The module's own documentation sends its examples with `curl --data`, which labels them
    `application/x-www-form-urlencoded`; FastAPI would hand such a body over as bytes and
    answer 422 "Input should be a valid dictionary". No route takes form data, so the label
    is replaced before FastAPI looks at it; a body that is not JSON is then a 400 naming the
    JSON error (the validation error handler).
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def json_body_handler(request: Request) -> Response:
            headers = request.scope["headers"]
            if not any(k == b"content-type" and _is_json(v) for k, v in headers):
                scope = dict(request.scope)
                scope["headers"] = [(k, v) for k, v in headers if k != b"content-type"]
                scope["headers"].append((b"content-type", _JSON))
                request = Request(scope, request.receive)
            return await handler(request)

        return json_body_handler
