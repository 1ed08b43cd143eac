"""uvicorn's httptools protocol with the bounds granian puts on a request's head.

uvicorn buffers a request's head whole, however large, before the app sees it, and holds a
connection that sends nothing (or a byte now and then) for ever; its keep-alive timeout
starts only after a response. This protocol counts the bytes of each head as they arrive
and refuses one still incomplete past MAX_HEAD_BYTES with 431 (a URL past MAX_URL_BYTES with
414, however the bytes were split into reads), and closes a connection whose
head has not all come within HEAD_READ_TIMEOUT seconds of the connection (after its TLS
handshake) or of the previous response. Nothing else changes: parsing, keep-alive and
pipelining are uvicorn's.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from app.models.error import ErrorResponse
from cli.http_limits import HEAD_READ_TIMEOUT, MAX_HEAD_BYTES, MAX_URL_BYTES


def head_too_large_message(max_head_bytes: int) -> str:
    return f"the request's line and headers are larger than the limit of {max_head_bytes} bytes"


def url_too_long_message(max_url_bytes: int) -> str:
    return f"the request's URL is longer than the limit of {max_url_bytes} bytes"


class BoundedHeadProtocol(HttpToolsProtocol):
    """HttpToolsProtocol whose heads are bounded in size and in time."""

    max_head_bytes = MAX_HEAD_BYTES
    max_url_bytes = MAX_URL_BYTES
    head_read_timeout: float = HEAD_READ_TIMEOUT

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Between the end of a request's body and the end of the next one's headers, a head
        # is being read: its bytes so far are counted.
        self.reading_head = True
        self.head_bytes = 0
        self.head_deadline: asyncio.TimerHandle | None = None
        self.refused = False  # answered 431 or 414: nothing more is parsed

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._start_head_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_deadline()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.transport.is_closing():
            return  # refused or timed out: what is still on its way is not parsed
        if self.reading_head:
            self.head_bytes += len(data)
        super().data_received(data)
        # Checked once the bytes are parsed: a chunk that ends a head and carries a body
        # (up to the socket's read size) is no head too large.
        if self.reading_head and self.head_bytes > self.max_head_bytes:
            self._refuse(431, head_too_large_message(self.max_head_bytes))

    # Once refused, the parser still calls back for the rest of the read it was given: none
    # of it reaches uvicorn (whose URL parsing would fail, and answer a second time).

    def on_url(self, url: bytes) -> None:
        if self.refused:
            return
        super().on_url(url)
        # Checked as the URL comes: before the head's own bound (a long URL is a large head)
        # and before the head is complete (uvicorn cannot parse it then).
        if len(self.url) > self.max_url_bytes:
            self._refuse(414, url_too_long_message(self.max_url_bytes))

    def on_header(self, name: bytes, value: bytes) -> None:
        if not self.refused:
            super().on_header(name, value)

    def on_body(self, body: bytes) -> None:
        if not self.refused:
            super().on_body(body)

    def on_headers_complete(self) -> None:
        if self.refused:
            return
        self.reading_head = False
        self._cancel_head_deadline()
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        if self.refused:
            return
        # What comes next on the connection is the next request's head (pipelined or not).
        self.reading_head = True
        self.head_bytes = 0
        super().on_message_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        # The next head's time starts now, not while the app was answering; a pipelined
        # head that came meanwhile needs none.
        if self.reading_head and not self.transport.is_closing():
            self._start_head_deadline()

    def _start_head_deadline(self) -> None:
        self._cancel_head_deadline()
        self.head_deadline = self.loop.call_later(self.head_read_timeout, self._head_too_slow)

    def _cancel_head_deadline(self) -> None:
        if self.head_deadline is not None:
            self.head_deadline.cancel()
            self.head_deadline = None

    def _head_too_slow(self) -> None:
        self.head_deadline = None
        if not self.transport.is_closing():
            self.transport.close()  # as granian does: no answer, the connection ends

    def _refuse(self, status: int, message: str) -> None:
        """Answer `status` with the gateway's error JSON, and close the connection."""
        if self.transport.is_closing():
            return
        self.refused = True
        content = ErrorResponse(message=message).model_dump_json(exclude_none=True).encode()
        head = [STATUS_LINE[status]]
        for name, value in self.server_state.default_headers:
            head += [name, b": ", value, b"\r\n"]
        head += [
            b"content-type: application/json\r\n",
            b"content-length: %d\r\n" % len(content),
            b"connection: close\r\n\r\n",
        ]
        self.transport.write(b"".join(head) + content)
        self.transport.close()
