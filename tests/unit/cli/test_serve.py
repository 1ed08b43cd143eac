"""The pure parts of serving: the key form granian takes, the TLS files a reload replaces,
its log set-up, client addresses."""

from __future__ import annotations

import contextlib
import ctypes
import logging
import logging.config
import ssl
import stat
from pathlib import Path

import anyio
import pytest
import uvicorn
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from starlette.types import Message, Receive, Scope, Send

from app.tls import make_self_signed_cert
from app.tls_reload import PemPair
from cli import serve
from cli.granian_server import LOG_FORMAT, http1_settings, log_config
from cli.http_limits import HEAD_READ_TIMEOUT, MAX_HEAD_BYTES
from cli.serve import (
    UnmappedClientAddress,
    UvicornCertificate,
    pkcs8,
    replace_tls_files,
    tune_logging,
    write_tls_files,
)


def test_pkcs8_converts_a_traditional_key_and_keeps_it_the_same_key() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    traditional = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    assert traditional.startswith(b"-----BEGIN EC PRIVATE KEY-----")
    converted = pkcs8(traditional)
    assert converted.startswith(b"-----BEGIN PRIVATE KEY-----")
    loaded = serialization.load_pem_private_key(converted, password=None)
    assert isinstance(loaded, ec.EllipticCurvePrivateKey)
    assert loaded.private_numbers() == key.private_numbers()


def test_granian_log_config_is_accepted_and_uses_the_gateway_format() -> None:
    config = log_config()
    logging.config.dictConfig(config)  # raised "Unable to configure handler" once
    handler = logging.getLogger("_granian").handlers[0]
    assert handler.formatter is not None
    assert handler.formatter._fmt == LOG_FORMAT
    # granian's access formatter is still there for its access handler.
    assert "access" in config["formatters"]


def test_what_tune_logging_leaves_out_no_format_of_the_gateway_shows(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for switch in ("_srcfile", "logThreads", "logProcesses", "logMultiprocessing"):
        monkeypatch.setattr(logging, switch, getattr(logging, switch))  # restored after
    tune_logging()
    record = logging.getLogger("cephgw.access").makeRecord(
        "cephgw.access", logging.INFO, "", 0, '{"status":200}', (), None
    )
    assert (record.thread, record.process, record.processName) == (None, None, None)
    shown = logging.Formatter(LOG_FORMAT).format(record)
    assert shown.endswith(' INFO cephgw.access: {"status":200}')
    for unused in ("pathname", "filename", "lineno", "funcName", "thread", "process"):
        assert f"%({unused}" not in LOG_FORMAT
    assert logging.Formatter("%(message)s").format(record) == '{"status":200}'


def test_granian_bounds_a_head_as_the_gateway_says() -> None:
    settings = http1_settings()
    assert settings.max_buffer_size == MAX_HEAD_BYTES == 64 * 1024
    assert settings.header_read_timeout == HEAD_READ_TIMEOUT * 1000 == 10_000  # milliseconds
    assert settings.keep_alive  # the rest as granian has it


def _client_seen(client: tuple[str, int]) -> tuple[str, int]:
    seen: list[tuple[str, int]] = []

    async def app(scope: Scope, _receive: Receive, _send: Send) -> None:
        seen.append(scope["client"])

    async def receive() -> Message:
        return {"type": "http.request"}

    async def send(_message: Message) -> None:
        return None

    scope: Scope = {"type": "http", "client": client}
    anyio.run(UnmappedClientAddress(app), scope, receive, send)
    return seen[0]


def test_an_ipv4_mapped_client_is_shown_as_ipv4_and_others_as_they_are() -> None:
    assert _client_seen(("::ffff:127.0.0.1", 5000)) == ("127.0.0.1", 5000)
    assert _client_seen(("::1", 5000)) == ("::1", 5000)
    assert _client_seen(("::ffff:abcd", 5000)) == ("::ffff:abcd", 5000)  # IPv6, not mapped
    assert _client_seen(("192.0.2.7", 5000)) == ("192.0.2.7", 5000)


def test_tls_files_are_replaced_once_and_readable_by_their_owner_only(tmp_path: Path) -> None:
    first, second = PemPair(*make_self_signed_cert("a")), PemPair(*make_self_signed_cert("b", "ec"))
    write_tls_files(tmp_path, first.cert_pem, first.key_pem)
    assert replace_tls_files(tmp_path, second)
    # The next worker to see the same change finds it written: no second reload.
    assert not replace_tls_files(tmp_path, second)
    assert (tmp_path / "crt.pem").read_text() == second.cert_pem
    key = serialization.load_pem_private_key((tmp_path / "key.pem").read_bytes(), None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    assert stat.S_IMODE((tmp_path / "key.pem").stat().st_mode) == 0o600
    assert stat.S_IMODE(tmp_path.stat().st_mode) == 0o700
    assert sorted(p.name for p in tmp_path.iterdir()) == ["crt.pem", "key.pem"]


def presented_certificate(server_context: ssl.SSLContext) -> bytes:
    """The certificate (DER) a TLS client is shown in a handshake with `server_context`,
    made in memory."""
    client_context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client_context.check_hostname = False
    client_context.verify_mode = ssl.CERT_NONE
    client_in, client_out, server_in, server_out = (ssl.MemoryBIO() for _ in range(4))
    client = client_context.wrap_bio(client_in, client_out)
    server = server_context.wrap_bio(server_in, server_out, server_side=True)
    for _ in range(10):
        for side in (client, server):
            with contextlib.suppress(ssl.SSLWantReadError):
                side.do_handshake()
        server_in.write(client_out.read())
        client_in.write(server_out.read())
    certificate = client.getpeercert(binary_form=True)
    assert certificate is not None
    return certificate


def test_uvicorns_context_presents_an_installed_certificate_in_the_next_handshakes(
    tmp_path: Path,
) -> None:
    first, second = PemPair(*make_self_signed_cert("a")), PemPair(*make_self_signed_cert("b"))
    write_tls_files(tmp_path, first.cert_pem, first.key_pem)
    certificate = UvicornCertificate(tmp_path)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        raise NotImplementedError  # never served

    # As `cli/serve.py` has uvicorn make its context.
    config = uvicorn.Config(
        app,
        ssl_certfile=tmp_path / "crt.pem",
        ssl_keyfile=tmp_path / "key.pem",
        ssl_context_factory=certificate.context_factory,
    )
    config.load()
    context = config.ssl
    assert context is not None
    assert presented_certificate(context) == ssl.PEM_cert_to_DER_cert(first.cert_pem)
    assert anyio.run(certificate.install, second)
    assert presented_certificate(context) == ssl.PEM_cert_to_DER_cert(second.cert_pem)
    assert (tmp_path / "crt.pem").read_text() == second.cert_pem


def test_tune_malloc_fixes_the_mmap_threshold(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[tuple[int, int]] = []

    class Libc:
        def mallopt(self, param: int, value: int) -> int:
            asked.append((param, value))
            return 1

    monkeypatch.setattr(ctypes, "CDLL", lambda _: Libc())
    serve.tune_malloc()
    assert asked == [(-3, 1024 * 1024)]


def test_tune_malloc_without_mallopt_does_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ctypes, "CDLL", lambda _: object())
    serve.tune_malloc()


def test_tune_malloc_on_this_libc() -> None:
    serve.tune_malloc()  # glibc here: accepted, or a warning, never an error
