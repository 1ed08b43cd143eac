"""The body limit's middleware as pure ASGI (what it reads, what it sends), and in the app."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field

import anyio
import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from starlette.types import Message, Receive, Scope, Send

from app.body_limit import BodyLimitMiddleware, too_large_message
from app.main import create_app
from app.settings import Settings

LIMIT = 100
TOO_LARGE = {"message": "the request body is larger than the limit of 100 bytes"}


@dataclass
class Exchange:
    """One request through the middleware: what the app got, what the client got."""

    received: int = 0  # receive() calls that reached the server
    app_called: bool = False
    app_body: bytes | None = None  # the body as the app read it, when it read it whole
    sent: list[Message] = field(default_factory=list)

    @property
    def status(self) -> int:
        return int(self.sent[0]["status"])

    @property
    def headers(self) -> dict[bytes, bytes]:
        return dict(self.sent[0]["headers"])

    @property
    def body(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.sent[1:])


def http_scope(content_length: int | None) -> Scope:
    headers = [(b"host", b"gateway"), (b"content-type", b"application/json")]
    if content_length is not None:
        headers.append((b"content-length", str(content_length).encode()))
    return {"type": "http", "method": "POST", "path": "/request", "headers": headers}


async def echo_app(scope: Scope, receive: Receive, send: Send, exchange: Exchange) -> None:
    """Reads the whole body, as FastAPI does, then answers 200 with it."""
    exchange.app_called = True
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body", False):
            break
    exchange.app_body = body
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


def exchange(chunks: list[bytes], content_length: int | None) -> Exchange:
    """`chunks` sent as the body (the server's http.request messages), through the limit."""
    seen = Exchange()

    def messages() -> Iterator[Message]:
        for i, chunk in enumerate(chunks):
            yield {"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1}
        while True:
            yield {"type": "http.disconnect"}

    pending = messages()

    async def receive() -> Message:
        seen.received += 1
        return next(pending)

    async def send(message: Message) -> None:
        seen.sent.append(message)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await echo_app(scope, receive, send, seen)

    middleware = BodyLimitMiddleware(app, max_body_bytes=LIMIT)
    anyio.run(middleware, http_scope(content_length), receive, send)
    return seen


def test_a_content_length_over_the_limit_is_answered_without_reading_the_body() -> None:
    seen = exchange([b"x" * 101], content_length=101)
    assert seen.status == 413
    assert json.loads(seen.body) == TOO_LARGE
    assert seen.headers[b"content-type"] == b"application/json"
    assert seen.headers[b"connection"] == b"close"
    assert seen.received == 0
    assert not seen.app_called


def test_a_huge_content_length_is_answered_the_same() -> None:
    seen = exchange([], content_length=50 * 1024 * 1024 * 1024)
    assert (seen.status, json.loads(seen.body), seen.received) == (413, TOO_LARGE, 0)


def test_a_chunked_body_is_cut_off_by_the_chunk_that_passes_the_limit() -> None:
    chunks = [b"a" * 60, b"b" * 60, b"c" * 60, b"d" * 60]
    seen = exchange(chunks, content_length=None)
    assert seen.status == 413
    assert json.loads(seen.body) == TOO_LARGE
    assert seen.headers[b"connection"] == b"close"
    assert seen.received == 2  # the third and fourth chunks are never asked for
    assert seen.app_called
    assert seen.app_body is None


def test_a_body_under_the_limit_reaches_the_app_intact() -> None:
    chunks = [b'{"prefix": ', b'"osd tree"}', b""]
    seen = exchange(chunks, content_length=None)
    assert (seen.status, seen.body) == (200, b'{"prefix": "osd tree"}')
    assert seen.app_body == b'{"prefix": "osd tree"}'


@pytest.mark.parametrize("content_length", [LIMIT, None])
def test_a_body_of_exactly_the_limit_passes(content_length: int | None) -> None:
    body = bytes(range(LIMIT))
    seen = exchange([body[:30], body[30:]], content_length=content_length)
    assert (seen.status, seen.body, seen.app_body) == (200, body, body)


def test_a_content_length_under_the_limit_does_not_excuse_a_longer_body() -> None:
    # The server enforces Content-Length; counting anyway costs nothing and trusts nothing.
    seen = exchange([b"x" * 80, b"x" * 80], content_length=10)
    assert (seen.status, json.loads(seen.body)) == (413, TOO_LARGE)


def test_a_non_http_scope_passes_untouched() -> None:
    calls: list[Scope] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        calls.append(scope)

    async def receive() -> Message:
        raise AssertionError("not read")

    async def send(message: Message) -> None:
        raise AssertionError("nothing sent")

    scope: Scope = {"type": "lifespan"}
    anyio.run(BodyLimitMiddleware(app, max_body_bytes=1), scope, receive, send)
    assert calls == [scope]


def test_an_answer_already_started_is_not_followed_by_a_413() -> None:
    # An app that answers before it reads: a second response would break the protocol, so
    # the error goes on up and the server ends the connection.
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await receive()

    async def receive() -> Message:
        return {"type": "http.request", "body": b"x" * 101, "more_body": False}

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    middleware = BodyLimitMiddleware(app, max_body_bytes=LIMIT)
    with pytest.raises(Exception, match="larger than the limit") as raised:
        anyio.run(middleware, http_scope(None), receive, send)
    assert getattr(raised.value, "status_code", None) == 413
    assert [m["type"] for m in sent] == ["http.response.start"]


# -- in the app, without a cluster: the body is read (and refused) before any dependency --------


@pytest.fixture
def unconnected_client() -> TestClient:
    # Not entered: no lifespan, no cluster; a refused body never gets as far as needing one.
    return TestClient(create_app(Settings(max_body_bytes=LIMIT)))


def test_the_app_refuses_a_content_length_over_the_limit(unconnected_client: TestClient) -> None:
    r = unconnected_client.post("/request", content=b"x" * 101, auth=("nobody", "wrong"))
    assert r.status_code == 413
    assert r.json() == TOO_LARGE
    assert r.headers["connection"] == "close"


def test_the_app_answers_a_streamed_body_over_the_limit_with_the_error_model(
    unconnected_client: TestClient,
) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"prefix": "'
        yield b"x" * 200
        yield b'"}'

    # A generator is sent chunked, without a Content-Length.
    r = unconnected_client.post("/request", content=chunks(), auth=("nobody", "wrong"))
    assert r.status_code == 413
    assert r.json() == TOO_LARGE
    assert r.headers["connection"] == "close"


def test_the_message_names_the_limit() -> None:
    assert too_large_message(1048576) == (
        "the request body is larger than the limit of 1048576 bytes"
    )


def test_the_limit_is_one_mib_by_default_and_must_be_positive() -> None:
    assert Settings().max_body_bytes == 1024 * 1024
    with pytest.raises(ValidationError, match="max_body_bytes"):
        Settings(max_body_bytes=0)
