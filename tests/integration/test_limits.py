"""Hostile input against `cephgw serve` over TLS, under each server: bodies over the limit,
huge heads, and many idle or slow connections.

The requests are written by hand over TLS, so that a test can send what no HTTP client
sends (a 1 MB header, a head byte by byte) and read the answer while its body is still
going out, as a client that sees an early 413 does. The figures each test saw are printed
(`pytest -rA` shows them).
"""

from __future__ import annotations

import asyncio
import base64
import json
import resource
import selectors
import socket
import ssl
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import get_args

import httpx
import pytest

from app.settings import ServerName
from cli.dev_cluster import DevCluster
from cli.http_limits import HEAD_READ_TIMEOUT, MAX_HEAD_BYTES, MAX_URL_BYTES
from tests.support.processes import process_figures
from tests.support.server import Auth, Gateway, serve_tls, shown_on_failure

pytestmark = pytest.mark.integration

MIB = 1024 * 1024
LIMIT = MIB  # the default max_body_bytes
TOO_LARGE = {"message": f"the request body is larger than the limit of {LIMIT} bytes"}
# What a test client holds open at once, with the fds of its own and of the test session.
IDLE_CONNECTIONS = 1000
SLOW_CONNECTIONS = 20
FDS_NEEDED = 2 * (IDLE_CONNECTIONS + SLOW_CONNECTIONS) + 512  # the client's and the server's


@dataclass(frozen=True)
class Answer:
    """An HTTP/1.1 answer as it came off the wire, and what the upload sent meanwhile."""

    status: int
    headers: dict[str, str]
    body: bytes
    sent: int  # bytes of the request's body handed to TLS before the answer came
    seconds: float  # from the request's head written to the answer read

    def json(self) -> object:
        return json.loads(self.body)


def is_complete(raw: bytes | bytearray) -> bool:
    """Whether `raw` holds a whole answer: its head, and as much body as it says."""
    head, found, body = bytes(raw).partition(b"\r\n\r\n")
    if not found:
        return False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(body) >= int(value)
    return False  # read until the server closes


def parse_answer(raw: bytes, sent: int, seconds: float) -> Answer:
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    assert "chunked" not in headers.get("transfer-encoding", ""), raw[:500]
    length = int(headers.get("content-length", len(body)))
    assert len(body) >= length, raw[:500]
    return Answer(int(status_line.split()[1]), headers, body[:length], sent, seconds)


def exchange(gateway: Gateway, head: bytes, body: Iterable[bytes] = ()) -> Answer:
    """`head` (request line and headers), then `body` piece by piece while the answer is read,
    as a client that sees an early answer stops its upload; the answer, once it came whole
    (or the server closed the connection).

    TLS runs on memory buffers (`SSLObject`), the socket apart: a server that closes the
    connection on an unread body makes the next write fail, and a TLS socket (or asyncio's
    streams) would then lose the answer that came before; here it is still read.
    """
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = gateway.ssl_context().wrap_bio(incoming, outgoing, server_hostname="127.0.0.1")
    received = bytearray()
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=30) as sock:
        while True:  # the handshake, blocking
            try:
                tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                sock.sendall(outgoing.read())
                incoming.write(sock.recv(65536))
        sock.sendall(outgoing.read())
        start = time.perf_counter()
        tls.write(head)
        pending = outgoing.read()  # encrypted, not sent yet
        pieces_left = iter(body)
        sent = 0  # bytes of the body handed to TLS
        writing = True
        sock.setblocking(False)
        with selectors.DefaultSelector() as selector:
            selector.register(sock, selectors.EVENT_READ | selectors.EVENT_WRITE)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                if not writing:
                    selector.modify(sock, selectors.EVENT_READ)
                for _, events in selector.select(timeout=1):
                    if events & selectors.EVENT_READ:
                        try:
                            data = sock.recv(65536)
                        except ConnectionError:
                            data = b""  # reset, after what came before it was read
                        if not data:
                            return parse_answer(bytes(received), sent, time.perf_counter() - start)
                        incoming.write(data)
                        try:
                            while chunk := tls.read(65536):
                                received += chunk
                        except ssl.SSLWantReadError:
                            pass
                        except ssl.SSLZeroReturnError:  # the server's TLS close_notify
                            return parse_answer(bytes(received), sent, time.perf_counter() - start)
                        if is_complete(received):  # as a client reads it: no need to wait for EOF
                            return parse_answer(bytes(received), sent, time.perf_counter() - start)
                        writing = writing and not received  # answered: the rest is not wanted
                    if events & selectors.EVENT_WRITE and writing:
                        if not pending:
                            piece = next(pieces_left, None)
                            if piece is None:
                                writing = False
                                continue
                            tls.write(piece)
                            sent += len(piece)
                            pending = outgoing.read()
                        try:
                            pending = pending[sock.send(pending) :]
                        except BlockingIOError:
                            pass
                        except ConnectionError:
                            writing = False  # closed by the server: its answer is to be read
    raise AssertionError(f"no answer within 30 s; received {bytes(received[:500])!r}")


def request_head(method: str, target: str, auth: Auth, *headers: str) -> bytes:
    basic = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
    lines = [f"{method} {target} HTTP/1.1", "Host: 127.0.0.1", f"Authorization: Basic {basic}"]
    lines += ["Connection: close", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def post_request_head(auth: Auth, *headers: str) -> bytes:
    """The head of a POST /request with a JSON body, and `headers`."""
    return request_head("POST", "/request", auth, "Content-Type: application/json", *headers)


def measured_exchange(
    gateway: Gateway, head: bytes, body: Iterable[bytes] = ()
) -> tuple[Answer, int, int]:
    """`exchange`, with the gateway's RSS (its processes added up) before it and how far the
    RSS grew by the answer, in bytes."""
    before = process_figures(gateway.pid).rss
    answer = exchange(gateway, head, body)
    return answer, before, process_figures(gateway.pid).rss - before


def pieces(total: int, size: int = 64 * 1024) -> Iterator[bytes]:
    while total > 0:
        yield b"x" * min(size, total)
        total -= size


def chunked(data: Iterable[bytes]) -> Iterator[bytes]:
    """`data` in the chunked transfer coding (without its last chunk: the body never ends)."""
    for piece in data:
        yield b"%x\r\n%s\r\n" % (len(piece), piece)


def raise_fd_limit(needed: int) -> None:
    """The soft limit on open files up to `needed` (the hard limit allowing): the gateway,
    started from this process, inherits it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        if hard != resource.RLIM_INFINITY and hard < needed:
            pytest.skip(
                f"{IDLE_CONNECTIONS} connections need {needed} fds; the hard limit is {hard}"
            )
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))


@pytest.fixture(scope="module", params=get_args(ServerName))
def gateway(
    request: pytest.FixtureRequest,
    cluster: DevCluster,
    admin_auth: Auth,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Gateway]:
    server: ServerName = request.param
    raise_fd_limit(FDS_NEEDED)
    log = Path(tmp_path_factory.mktemp(f"limits-{server}")) / "serve.log"
    with serve_tls(cluster, f"limits{server}", admin_auth, log, server=server) as gw:
        yield gw


@pytest.fixture
def server(gateway: Gateway, request: pytest.FixtureRequest) -> ServerName:
    name: ServerName = request.node.callspec.params["gateway"]
    return name


@pytest.fixture(autouse=True)
def _shown(gateway: Gateway) -> Iterator[None]:
    with shown_on_failure(gateway):
        yield


def test_a_50_mb_body_is_refused_at_once_and_costs_no_memory(
    gateway: Gateway, admin_auth: Auth
) -> None:
    head = post_request_head(admin_auth, f"Content-Length: {50 * MIB}")
    exchange(gateway, head, pieces(2 * MIB))  # the code paths warmed up, their memory taken
    answer, before, grown = measured_exchange(gateway, head, pieces(50 * MIB))
    print(
        f"50 MB body: {answer.status} in {answer.seconds * 1000:.0f} ms, "
        f"{answer.sent / MIB:.1f} MiB sent, RSS {before / MIB:.1f} MiB, "
        f"grown {grown / MIB:+.2f} MiB"
    )
    assert answer.status == 413
    assert answer.headers["content-type"] == "application/json"
    assert answer.json() == TOO_LARGE
    assert answer.seconds < 2
    assert answer.sent < 25 * MIB  # cut off: what went out sat in socket buffers
    assert grown < 5 * MIB


def test_a_content_length_over_the_limit_is_refused_before_the_body_is_sent(
    gateway: Gateway, admin_auth: Auth
) -> None:
    # A client that asks first (curl does above 1 MiB) never sends the body.
    head = post_request_head(admin_auth, f"Content-Length: {50 * MIB}", "Expect: 100-continue")
    answer = exchange(gateway, head)
    assert (answer.status, answer.json()) == (413, TOO_LARGE)
    assert answer.headers["connection"] == "close"


def test_a_chunked_body_over_the_limit_is_cut_off_with_413(
    gateway: Gateway, admin_auth: Auth
) -> None:
    head = post_request_head(admin_auth, "Transfer-Encoding: chunked")
    answer = exchange(gateway, head, chunked(pieces(50 * MIB)))
    print(
        f"chunked body: {answer.status} in {answer.seconds * 1000:.0f} ms, "
        f"{answer.sent / MIB:.1f} MiB sent"
    )
    assert answer.status == 413
    assert answer.json() == TOO_LARGE
    assert answer.sent < 25 * MIB


def test_a_body_just_under_the_limit_is_read_whole_and_run(
    gateway: Gateway, admin_auth: Auth
) -> None:
    # Whitespace is JSON: one cheap command in a body of nearly 1 MiB, read in many pieces
    # (granian's read buffer is MAX_HEAD_BYTES).
    command = b'{"prefix": "osd stat", "format": "json"}'
    body = b" " * (LIMIT - len(command)) + command
    r = httpx.post(
        f"{gateway.url}/request?wait=1",
        content=body,
        auth=admin_auth,
        headers={"Content-Type": "application/json"},
        verify=gateway.ssl_context(),
        timeout=30,
    )
    assert r.status_code == 200, r.text
    job = r.json()
    assert job["state"] == "success", job
    assert [c["command"] for c in job["finished"]] == ["osd stat format=json"]


# What each server answers a head over the limits (cli/http_limits.py): granian (hyper) with
# an empty body, uvicorn with the gateway's protocol's JSON. Never a 500, never the app.
HEAD_TOO_LARGE = {
    "granian": (431, b""),
    "uvicorn": (
        431,
        b'{"message":"the request\'s line and headers are larger than the limit of %d bytes"}'
        % MAX_HEAD_BYTES,
    ),
}
URL_TOO_LONG = {
    "granian": (414, b""),  # hyper's own bound on a URL, 64 KiB
    "uvicorn": (
        414,
        b'{"message":"the request\'s URL is longer than the limit of %d bytes"}' % MAX_URL_BYTES,
    ),
}


def test_a_1_mb_header_is_refused_by_the_server(
    gateway: Gateway, server: ServerName, admin_auth: Auth
) -> None:
    head = request_head("GET", "/healthz", admin_auth, "X-Padding: " + "a" * MIB)
    answer, _, grown = measured_exchange(gateway, head)
    print(f"1 MB header: {answer.status} {answer.body!r}, RSS grown {grown / MIB:+.2f} MiB")
    assert (answer.status, answer.body) == HEAD_TOO_LARGE[server]
    assert answer.headers["connection"] == "close"
    assert grown < 5 * MIB


def test_a_header_under_the_limit_is_served(gateway: Gateway, admin_auth: Auth) -> None:
    padding = "a" * (MAX_HEAD_BYTES - 4096)
    answer = exchange(gateway, request_head("GET", "/healthz", admin_auth, f"X-Padding: {padding}"))
    assert answer.status == 200
    assert answer.json() == {"status": "ok", "checks": {}}


def test_a_100_kb_url_is_refused_by_the_server(
    gateway: Gateway, server: ServerName, admin_auth: Auth
) -> None:
    answer = exchange(gateway, request_head("GET", "/pool/" + "1" * 100_000, admin_auth))
    assert (answer.status, answer.body) == URL_TOO_LONG[server]


def test_a_long_url_under_the_limit_is_the_apps_to_answer(
    gateway: Gateway, admin_auth: Auth
) -> None:
    answer = exchange(gateway, request_head("GET", "/nothing/" + "a" * 30_000, admin_auth))
    assert answer.status == 404
    assert answer.json() == {"message": "Not Found"}


async def _crowd_then_ask(gateway: Gateway, admin_auth: Auth) -> tuple[float, int, int]:
    context = gateway.ssl_context()
    port = gateway.port
    # Half never start TLS (stuck before the handshake), half are idle after it.
    bare = [await asyncio.open_connection("127.0.0.1", port) for _ in range(IDLE_CONNECTIONS // 2)]
    tls = []
    for _ in range(IDLE_CONNECTIONS - len(bare)):
        tls.append(
            await asyncio.open_connection(
                "127.0.0.1", port, ssl=context, server_hostname="127.0.0.1"
            )
        )
    slow = [
        await asyncio.open_connection("127.0.0.1", port, ssl=context, server_hostname="127.0.0.1")
        for _ in range(SLOW_CONNECTIONS)
    ]
    head = request_head("GET", "/pool", admin_auth)
    crowd_opened = time.monotonic()

    async def slowloris(writer: asyncio.StreamWriter) -> None:
        for byte in head[:-2]:  # never the blank line that ends the head
            writer.write(bytes([byte]))
            await writer.drain()
            await asyncio.sleep(0.2)

    dribbling = [asyncio.create_task(slowloris(w)) for _, w in slow]
    await asyncio.sleep(1)  # the slow heads under way

    def ask() -> tuple[float, httpx.Response]:
        start = time.perf_counter()
        r = httpx.get(f"{gateway.url}/pool", auth=admin_auth, verify=context, timeout=10)
        return time.perf_counter() - start, r

    seconds, r = await asyncio.to_thread(ask)
    assert r.status_code == 200, r.text
    assert any(pool["pool_name"] == "cephgw-tests" for pool in r.json())

    # Past the head read timeout, the server has closed the idle connections and the slow.
    await asyncio.sleep(max(0.0, crowd_opened + HEAD_READ_TIMEOUT + 3 - time.monotonic()))
    closed = 0
    for reader, _ in [*tls, *slow]:
        try:
            if await asyncio.wait_for(reader.read(1), timeout=0.05) == b"":
                closed += 1
        except (ConnectionError, ssl.SSLError):
            closed += 1
        except TimeoutError:
            pass
    for task in dribbling:
        task.cancel()
    for _, writer in [*bare, *tls, *slow]:
        writer.close()
    return seconds, closed, len(tls) + len(slow)


def test_idle_and_slow_connections_do_not_keep_a_client_waiting(
    gateway: Gateway, admin_auth: Auth
) -> None:
    seconds, closed, watched = asyncio.run(_crowd_then_ask(gateway, admin_auth))
    print(
        f"GET /pool beside {IDLE_CONNECTIONS} idle and {SLOW_CONNECTIONS} slow connections: "
        f"{seconds * 1000:.0f} ms; {closed} of {watched} closed by the server after "
        f"{HEAD_READ_TIMEOUT} s"
    )
    assert seconds < 2
    assert closed == watched
