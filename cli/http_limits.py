"""What either HTTP server allows a request's head (request line and headers), so that a
client cannot make the gateway hold a huge head, or hold a connection by sending it slowly.

granian (hyper) enforces them with its own settings (`cli/granian_server.py`): a head over
MAX_HEAD_BYTES is answered 431, as are more than 100 headers (a URL over 64 KiB: 414), and a
connection whose head has not all come within HEAD_READ_TIMEOUT is closed, idle keep-alive
connections too. uvicorn's httptools protocol has neither bound (a 1 MB header went through
whole, and a connection that sends nothing is held for ever): `cli/uvicorn_protocol.py`
adds both, and answers a URL over MAX_URL_BYTES 414 too. The standard library only:
granian's supervisor imports this.
"""

from __future__ import annotations

# Bytes a request's head may have. The gateway's own requests need well under 1 KiB (a
# Basic key and a few headers); proxies add some. A head may pass it by up to one read of
# the socket before it is refused (both servers count what they buffered).
MAX_HEAD_BYTES = 64 * 1024
# Seconds a request's head may take to come, from the connection's start or the previous
# response: past it the connection is closed.
HEAD_READ_TIMEOUT = 10
# Bytes a request's URL may have: httptools' own bound (uvicorn could not parse a longer one,
# and answered its bare 400 once the head was complete), about hyper's (granian: 414).
MAX_URL_BYTES = 65_535
