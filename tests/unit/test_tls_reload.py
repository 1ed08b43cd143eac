"""The certificate reload's pure parts: which PEM pairs are servable, and when a change is
installed; and what a look at config-key asks of the mons."""

from __future__ import annotations

import datetime as dt
import errno
import logging
from collections.abc import Mapping
from typing import Any, cast

import anyio
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID

from app.ceph.client import CephClient
from app.errors import CephError
from app.tls import make_self_signed_cert
from app.tls_reload import (
    CertificateReloader,
    PemPair,
    ServedCertificate,
    UnusablePemPair,
    checked_certificate,
    config_key_source,
)


def new_pair(key_type: str = "rsa") -> PemPair:
    cert_pem, key_pem = make_self_signed_cert("gw.example.org", "ec" if key_type == "ec" else "rsa")
    return PemPair(cert_pem, key_pem)


def key_pem(
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey,
    password: bytes | None = None,
) -> str:
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password)
        if password
        else serialization.NoEncryption()
    )
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    ).decode()


@pytest.mark.parametrize("key_type", ["rsa", "ec"])
def test_a_certificate_and_its_key_are_servable(key_type: str) -> None:
    pair = new_pair(key_type)
    assert checked_certificate(pair) == x509.load_pem_x509_certificate(pair.cert_pem.encode())


def test_a_chain_is_servable_and_its_first_certificate_is_the_served_one() -> None:
    pair, other = new_pair(), new_pair("ec")
    chain = PemPair(pair.cert_pem + other.cert_pem, pair.key_pem)
    assert checked_certificate(chain) == x509.load_pem_x509_certificate(pair.cert_pem.encode())


def test_a_key_that_is_not_the_certificates_is_refused() -> None:
    pair, other = new_pair(), new_pair()
    with pytest.raises(UnusablePemPair, match="not the certificate's key"):
        checked_certificate(PemPair(pair.cert_pem, other.key_pem))


@pytest.mark.parametrize(
    ("cert_pem", "key", "reason"),
    [
        ("not a certificate", None, "the certificate is not PEM"),
        (None, "not a key", "not an unencrypted PEM key"),
        (None, "encrypted", "not an unencrypted PEM key"),
        (None, "rsa-1024", "fewer than 2048"),
        (None, "p-521", "not P-256 or P-384"),
    ],
)
def test_unusable_pairs_are_refused_with_the_reason(
    cert_pem: str | None, key: str | None, reason: str
) -> None:
    pair = new_pair()
    keys = {
        None: pair.key_pem,
        "not a key": "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        "encrypted": key_pem(
            serialization.load_pem_private_key(pair.key_pem.encode(), None),  # type: ignore[arg-type]
            b"secret",
        ),
        # A weak key, refused: the point.
        "rsa-1024": key_pem(rsa.generate_private_key(public_exponent=65537, key_size=1024)),  # noqa: S505
        "p-521": key_pem(ec.generate_private_key(ec.SECP521R1())),
    }
    with pytest.raises(UnusablePemPair, match=reason):
        checked_certificate(PemPair(cert_pem or pair.cert_pem, keys[key]))


class Source:
    """A certificate source the test changes by hand; counts its reads."""

    def __init__(self, pair: PemPair | None) -> None:
        self.pair = pair
        self.reads = 0

    async def __call__(self) -> PemPair | None:
        self.reads += 1
        return self.pair


class Installer:
    def __init__(self, serves_it: bool = True) -> None:
        self.serves_it = serves_it
        self.installed: list[PemPair] = []
        self.failures = 0

    async def __call__(self, pair: PemPair) -> bool:
        if self.failures:
            self.failures -= 1
            raise OSError("disk full")
        self.installed.append(pair)
        return self.serves_it


def reloader_for(
    served: PemPair, source: Source, installer: Installer
) -> tuple[CertificateReloader, ServedCertificate]:
    certificate = ServedCertificate(served.cert_pem)
    return CertificateReloader(certificate, source, installer, interval=2.0), certificate


def test_the_served_certificate_unchanged_at_its_source_is_not_installed_again() -> None:
    served = new_pair()
    installer = Installer()
    reloader, _ = reloader_for(served, Source(served), installer)
    assert not anyio.run(reloader.check)
    assert installer.installed == []


def test_no_certificate_at_the_source_keeps_the_served_one() -> None:
    installer = Installer()
    reloader, certificate = reloader_for(new_pair(), Source(None), installer)
    before = certificate.certificate
    assert not anyio.run(reloader.check)
    assert installer.installed == []
    assert certificate.certificate == before


def test_a_new_certificate_is_installed_once_and_then_served() -> None:
    served, replacement = new_pair(), new_pair("ec")
    source, installer = Source(served), Installer()
    reloader, certificate = reloader_for(served, source, installer)
    source.pair = replacement
    assert anyio.run(reloader.check)
    assert not anyio.run(reloader.check)
    assert installer.installed == [replacement]
    assert certificate.pem == replacement.cert_pem
    assert certificate.certificate == checked_certificate(replacement)


def test_the_same_certificate_with_its_key_in_another_form_is_no_change() -> None:
    served = new_pair("ec")
    key = serialization.load_pem_private_key(served.key_pem.encode(), None)
    traditional = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()
    installer = Installer()
    reloader, _ = reloader_for(served, Source(PemPair(served.cert_pem, traditional)), installer)
    assert not anyio.run(reloader.check)
    assert installer.installed == []


def test_a_process_about_to_be_replaced_keeps_reporting_the_certificate_it_serves() -> None:
    """granian's worker: its successor serves the new one; it does not install it twice."""
    served, replacement = new_pair(), new_pair()
    installer = Installer(serves_it=False)
    reloader, certificate = reloader_for(served, Source(replacement), installer)
    assert anyio.run(reloader.check)
    assert not anyio.run(reloader.check)
    assert installer.installed == [replacement]
    assert certificate.pem == served.cert_pem


def test_an_unusable_replacement_is_refused_with_one_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    served, other = new_pair(), new_pair()
    mismatched = PemPair(other.cert_pem, served.key_pem)
    source, installer = Source(mismatched), Installer()
    reloader, certificate = reloader_for(served, source, installer)
    with caplog.at_level(logging.WARNING, logger="app.tls_reload"):
        for _ in range(4):
            assert not anyio.run(reloader.check)
    refusals = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert refusals == [
        "refused the new TLS certificate, serving the old one: "
        "the private key is not the certificate's key"
    ]
    assert installer.installed == []
    assert certificate.pem == served.cert_pem
    # Put right at the source, it is installed.
    source.pair = other
    assert anyio.run(reloader.check)
    assert installer.installed == [other]


def test_a_failed_install_is_tried_again_at_the_next_look() -> None:
    served, replacement = new_pair(), new_pair()
    installer = Installer()
    installer.failures = 1
    reloader, _ = reloader_for(served, Source(replacement), installer)
    with pytest.raises(OSError, match="disk full"):
        anyio.run(reloader.check)
    assert anyio.run(reloader.check)
    assert installer.installed == [replacement]


def test_a_pair_seen_half_replaced_is_installed_at_the_next_look_without_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """`cephgw create-self-signed-cert` stores the certificate, then the key."""
    served, replacement = new_pair(), new_pair()
    source, installer = Source(PemPair(replacement.cert_pem, served.key_pem)), Installer()
    reloader, _ = reloader_for(served, source, installer)
    with caplog.at_level(logging.WARNING, logger="app.tls_reload"):
        assert not anyio.run(reloader.check)
        source.pair = replacement
        assert anyio.run(reloader.check)
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert installer.installed == [replacement]


def test_an_ed25519_pair_is_servable() -> None:
    """granian's TLS serves one (checked by hand: a P-521 key, refused above, makes its worker
    panic at start instead)."""
    key = ed25519.Ed25519PrivateKey.generate()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "gw.example.org")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, None)
    )
    pair = PemPair(cert.public_bytes(serialization.Encoding.PEM).decode(), key_pem(key))
    assert checked_certificate(pair) == cert


# -- config-key as the source -------------------------------------------------------------------


class ConfigKey:
    """config-key on a connected cluster, recording each command asked; `dump_errno` makes
    the mons refuse `config-key dump` (a user whose caps do not allow it)."""

    connected = True

    def __init__(self, values: dict[str, str], dump_errno: int = 0) -> None:
        self.values = values
        self.dump_errno = dump_errno
        self.asked: list[str] = []

    async def mon_json(self, command: Mapping[str, Any], target: str | None = None) -> Any:
        assert command["prefix"] == "config-key dump"
        self.asked.append(f"dump {command['key']}")
        if self.dump_errno:
            raise CephError(self.dump_errno, "access denied")
        return {k: v for k, v in self.values.items() if k.startswith(command["key"])}

    async def amon_command(
        self, command: Mapping[str, Any], inbuf: bytes = b"", target: str | None = None
    ) -> bytes:
        assert command["prefix"] == "config-key get"
        self.asked.append(f"get {command['key']}")
        if command["key"] not in self.values:
            raise CephError(errno.ENOENT, "no such key")
        return self.values[command["key"]].encode()


SHARED = {"mgr/restful/crt": "shared crt", "mgr/restful/key": "shared key"}
PER_MGR = {"mgr/restful/x/crt": "x crt", "mgr/restful/x/key": "x key"}


def look(ceph: ConfigKey, mgr_name: str | None) -> PemPair | None:
    return anyio.run(config_key_source(cast(CephClient, ceph), mgr_name))


def test_a_look_at_config_key_is_one_dump_in_the_modules_order() -> None:
    ceph = ConfigKey({**SHARED, **PER_MGR, "mgr/restful/keys/k": "secret"})
    assert look(ceph, "x") == PemPair("x crt", "x key")
    assert look(ceph, "y") == PemPair("shared crt", "shared key")
    assert look(ceph, None) == PemPair("shared crt", "shared key")
    assert look(ConfigKey({"mgr/restful/x/crt": "x crt", **SHARED}), "x") == PemPair(
        "shared crt", "shared key"
    )  # half a per-mgr pair is none
    assert look(ConfigKey({}), "x") is None
    assert ceph.asked == ["dump mgr/restful/"] * 3


def test_a_user_that_may_not_dump_looks_with_config_key_get_from_then_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ceph = ConfigKey({**SHARED}, dump_errno=errno.EACCES)
    source = config_key_source(cast(CephClient, ceph), "x")
    with caplog.at_level(logging.INFO, logger="app.tls_reload"):
        assert anyio.run(source) == PemPair("shared crt", "shared key")
        assert anyio.run(source) == PemPair("shared crt", "shared key")
    gets = [f"get mgr/restful/{name}" for name in ("x/crt", "x/key", "crt", "key")]
    assert ceph.asked == ["dump mgr/restful/", *gets, *gets]
    assert [r.levelno for r in caplog.records] == [logging.INFO]


def test_any_other_error_of_the_dump_is_a_failed_look() -> None:
    ceph = ConfigKey({**SHARED}, dump_errno=errno.ETIMEDOUT)
    source = config_key_source(cast(CephClient, ceph), None)
    for _ in range(2):
        with pytest.raises(CephError):
            anyio.run(source)
    assert ceph.asked == ["dump mgr/restful/"] * 2
