"""The request body limit: a body over `max_body_bytes` is answered 413, never read whole.

A pure ASGI middleware, so that nothing buffers the body before it counts:

- a Content-Length over the limit is answered at once; the app is not called and the body
  is not read (a client that sent `Expect: 100-continue` is never asked for it);
- a body without one (chunked) is counted as the app receives it, and the first chunk that
  passes the limit ends it with 413: at most the limit and one chunk are ever held.

The 413 is the gateway's one error body (`app.models.error.ErrorResponse`). Starlette's own
limit (`FastAPI(max_body_size=...)`) answers in plain text, or `{"message": "Content Too
Large"}`, which is why the gateway has its own.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.models.error import ErrorResponse

# A 413 leaves the rest of the body unread: the connection cannot carry another request, and
# closing it stops the client's upload (rather than the server reading it to discard it).
CLOSE = {"Connection": "close"}


def too_large_message(max_body_bytes: int) -> str:
    """The 413's message, the same whichever way the body was found too large."""
    return f"the request body is larger than the limit of {max_body_bytes} bytes"


class BodyTooLarge(HTTPException):
    """Raised by the counting `receive` once the body passes the limit.

    An HTTPException, so that FastAPI's body reading lets it through as it is (it turns any
    other exception into a 400) and the app's handler answers it with the error model; the
    middleware answers it itself when it comes out of the app unanswered.
    """

    def __init__(self, max_body_bytes: int) -> None:
        super().__init__(
            status_code=413, detail=too_large_message(max_body_bytes), headers=dict(CLOSE)
        )


class BodyLimitMiddleware:
    """Answers 413 to an HTTP request whose body is larger than `max_body_bytes`."""

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = declared_length(scope)
        if declared is not None and declared > self.max_body_bytes:
            await self._too_large(scope, receive, send)
            return
        received = 0
        response_started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise BodyTooLarge(self.max_body_bytes)
            return message

        async def watching_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, watching_send)
        except BodyTooLarge:
            if response_started:  # too late for a 413: the server ends the connection
                raise
            await self._too_large(scope, receive, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = ErrorResponse(message=too_large_message(self.max_body_bytes))
        response = JSONResponse(
            body.model_dump(exclude_none=True), status_code=413, headers=dict(CLOSE)
        )
        await response(scope, receive, send)


def declared_length(scope: Scope) -> int | None:
    """The request's Content-Length, None when it has none; one that is not a number is left
    to the server, which refuses it before the app sees it."""
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
