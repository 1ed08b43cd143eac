"""The bounds uvicorn's protocol puts on a request's head, on a transport that records what it
is given (no socket): a head too large, one too slow, and the requests that must pass."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Coroutine
from typing import Any

from starlette.types import Receive, Scope, Send
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import STATUS_LINE
from uvicorn.server import ServerState

from cli.http_limits import MAX_HEAD_BYTES, MAX_URL_BYTES
from cli.uvicorn_protocol import BoundedHeadProtocol, head_too_large_message, url_too_long_message


class RecordingTransport(asyncio.Transport):
    """What the protocol writes, and whether it closed the connection."""

    def __init__(self) -> None:
        super().__init__()
        self.written = bytearray()
        self.closed = False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 8003), "peername": ("127.0.0.1", 50000)}.get(
            name, default
        )

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written += data

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


async def answer_ok(scope: Scope, receive: Receive, send: Send) -> None:
    """Reads the body, then answers 200 with its length."""
    size = 0
    while True:
        message = await receive()
        size += len(message.get("body", b""))
        if not message.get("more_body", False):
            break
    await asyncio.sleep(float(dict(scope["headers"]).get(b"x-think", b"0")))
    body = json.dumps({"body_bytes": size}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def connected(head_read_timeout: float = 10) -> tuple[BoundedHeadProtocol, RecordingTransport]:
    config = Config(app=answer_ok, lifespan="off", log_level="warning")
    protocol = BoundedHeadProtocol(config=config, server_state=ServerState(), app_state={})
    protocol.head_read_timeout = head_read_timeout
    transport = RecordingTransport()
    protocol.connection_made(transport)
    return protocol, transport


def run(test: Callable[[], Coroutine[Any, Any, None]]) -> None:
    asyncio.run(test())


def head(size: int = 0, *extra: bytes) -> bytes:
    """A GET's head of about `size` bytes (a padding header), with `extra` header lines."""
    lines = [b"GET /healthz HTTP/1.1", b"Host: gateway", *extra]
    used = sum(len(line) + 2 for line in lines) + 2
    if size > used:
        lines.append(b"X-Padding: " + b"a" * (size - used - len(b"X-Padding: ") - 2))
    return b"\r\n".join(lines) + b"\r\n\r\n"


def test_a_head_that_passes_the_limit_unfinished_is_refused_with_431_json() -> None:
    async def test() -> None:
        protocol, transport = connected()
        start = b"GET /healthz HTTP/1.1\r\nHost: gateway\r\nX-Padding: "
        protocol.data_received(start)
        for _ in range(MAX_HEAD_BYTES // 4096 + 1):
            protocol.data_received(b"a" * 4096)
            if transport.closed:
                break
        status_line, _, rest = bytes(transport.written).partition(b"\r\n")
        assert status_line == b"HTTP/1.1 431 Request Header Fields Too Large"
        headers, _, body = rest.partition(b"\r\n\r\n")
        assert b"content-type: application/json" in headers.split(b"\r\n")
        assert b"connection: close" in headers.split(b"\r\n")
        assert json.loads(body) == {"message": head_too_large_message(MAX_HEAD_BYTES)}
        assert transport.closed
        # What comes after is neither parsed nor answered.
        written = bytes(transport.written)
        protocol.data_received(b"a" * 4096)
        assert bytes(transport.written) == written

    run(test)


def test_a_url_over_the_limit_is_refused_with_414_json_however_its_reads_are_split() -> None:
    # In one read, uvicorn saw the head complete and answered its bare 400 (it cannot parse
    # the URL); in reads of a TLS record each, the head's bound came first (431).
    request = b"GET /" + b"1" * 100_000 + b" HTTP/1.1\r\nHost: gateway\r\n\r\n"

    async def test(read_size: int) -> None:
        protocol, transport = connected()
        for start in range(0, len(request), read_size):
            protocol.data_received(request[start : start + read_size])
        await asyncio.sleep(0.02)
        status_line, _, rest = bytes(transport.written).partition(b"\r\n")
        # The reason phrase is Python's (3.13 says "URI Too Long"): uvicorn's table has it.
        assert status_line + b"\r\n" == STATUS_LINE[414], read_size
        headers, _, body = rest.partition(b"\r\n\r\n")
        assert b"content-type: application/json" in headers.split(b"\r\n")
        assert json.loads(body) == {"message": url_too_long_message(MAX_URL_BYTES)}
        assert transport.closed

    for read_size in (len(request), 16_384, 1_000):
        asyncio.run(test(read_size))


def test_a_url_at_the_limit_is_served() -> None:
    async def test() -> None:
        protocol, transport = connected()
        url = b"/" + b"1" * (MAX_URL_BYTES - 1)
        protocol.data_received(b"GET " + url + b" HTTP/1.1\r\nHost: gateway\r\n\r\n")
        await asyncio.sleep(0.05)
        assert bytes(transport.written).startswith(b"HTTP/1.1 200 OK\r\n")
        assert not transport.closed

    run(test)


def test_a_head_under_the_limit_with_a_large_body_in_the_same_read_is_served() -> None:
    async def test() -> None:
        protocol, transport = connected()
        body = b"x" * (2 * MAX_HEAD_BYTES)
        post = head(MAX_HEAD_BYTES - 1024, b"Content-Length: %d" % len(body))
        protocol.data_received(post.replace(b"GET", b"POST", 1) + body)
        await asyncio.sleep(0.05)
        assert bytes(transport.written).startswith(b"HTTP/1.1 200 OK\r\n")
        assert bytes(transport.written).endswith(b'{"body_bytes": %d}' % len(body))
        assert not transport.closed

    run(test)


def test_each_head_of_a_keep_alive_connection_is_counted_afresh() -> None:
    async def test() -> None:
        protocol, transport = connected()
        for _ in range(3):  # together far over the limit, each under it
            protocol.data_received(head(MAX_HEAD_BYTES * 2 // 3))
            await asyncio.sleep(0.02)
        assert bytes(transport.written).count(b"HTTP/1.1 200 OK\r\n") == 3
        assert not transport.closed

    run(test)


def test_a_connection_that_sends_no_head_in_time_is_closed_without_an_answer() -> None:
    async def test() -> None:
        protocol, transport = connected(head_read_timeout=0.05)
        protocol.data_received(b"GET /healthz HTTP/1.1\r\n")  # and then nothing
        await asyncio.sleep(0.1)
        assert transport.closed
        assert transport.written == b""

    run(test)


def test_the_head_read_timeout_does_not_run_while_the_app_answers() -> None:
    async def test() -> None:
        protocol, transport = connected(head_read_timeout=0.1)
        protocol.data_received(head(0, b"X-Think: 0.3"))  # the app takes 3 timeouts
        await asyncio.sleep(0.35)
        assert bytes(transport.written).startswith(b"HTTP/1.1 200 OK\r\n")
        assert not transport.closed
        await asyncio.sleep(0.15)  # then the next head has its timeout, and does not come
        assert transport.closed

    run(test)
