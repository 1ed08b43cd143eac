"""The served certificate, re-read while serving: a certificate replaced in config-key or on
disk is served within seconds, without a restart.

`CertificateReloader` reads the certificate's source every `tls_reload_interval` seconds
(config-key as `cephgw serve` found it, or the --cert-file/--key-file files), and when the
certificate there differs from the one served and is usable (a PEM certificate, and a PEM
private key that is its key), hands it to the server's installer (`cli/serve.py`: granian
restarts its workers on the new files; uvicorn loads it into its running SSL context). An
unusable one, read so twice in a row, is refused with a warning, once, and the old one is
served on.
"""

from __future__ import annotations

import errno
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import anyio
import anyio.to_thread
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from app.ceph import restful_config
from app.ceph.client import CephClient
from app.errors import CephError

log = logging.getLogger(__name__)

# What rustls (granian's TLS) signs with; a key it cannot use would stop granian's new worker
# at its start, so it is refused here instead. Smaller RSA keys are refused by rustls too.
MIN_RSA_BITS = 2048
EC_CURVES = (ec.SECP256R1, ec.SECP384R1)


@dataclass(frozen=True)
class PemPair:
    """A certificate (possibly followed by its chain) and its private key, both PEM."""

    cert_pem: str
    key_pem: str


class UnusablePemPair(ValueError):
    """A certificate and key the server cannot serve; the message says why."""


def checked_certificate(pair: PemPair) -> x509.Certificate:
    """The pair's (first) certificate, once the pair is known to be servable: both parse,
    the key is unencrypted, of a kind TLS servers sign with, and the certificate's key."""
    try:
        chain = x509.load_pem_x509_certificates(pair.cert_pem.encode())
    except ValueError as exc:
        raise UnusablePemPair(f"the certificate is not PEM: {exc}") from exc
    try:
        key = serialization.load_pem_private_key(pair.key_pem.encode(), password=None)
    except (ValueError, TypeError) as exc:  # TypeError: it is encrypted
        raise UnusablePemPair(f"the private key is not an unencrypted PEM key: {exc}") from exc
    if isinstance(key, rsa.RSAPrivateKey):
        if key.key_size < MIN_RSA_BITS:
            raise UnusablePemPair(f"the RSA key has {key.key_size} bits, fewer than {MIN_RSA_BITS}")
    elif isinstance(key, ec.EllipticCurvePrivateKey):
        if not isinstance(key.curve, EC_CURVES):
            raise UnusablePemPair(f"the EC key's curve {key.curve.name} is not P-256 or P-384")
    elif not isinstance(key, ed25519.Ed25519PrivateKey):
        raise UnusablePemPair(f"a {type(key).__name__} cannot sign TLS handshakes here")
    public = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    if chain[0].public_key().public_bytes(*public) != key.public_key().public_bytes(*public):
        raise UnusablePemPair("the private key is not the certificate's key")
    return chain[0]


# The certificate where it is kept now, None when there is none there.
PemSource = Callable[[], Awaitable[PemPair | None]]
# Has the server present a checked pair; True when this process serves it from now on, False
# when the process is about to be replaced by one that does (granian's reload).
CertificateInstaller = Callable[[PemPair], Awaitable[bool]]


@dataclass(frozen=True)
class ServedTls:
    """What `create_app` is told of the server's TLS: the certificate it presents at start,
    and how to make it present another (None: the certificate is never reloaded)."""

    cert_pem: str
    install: CertificateInstaller | None = None


def files_source(cert_file: Path, key_file: Path) -> PemSource:
    """The --cert-file/--key-file files, read whole each time (they are small, and a
    replaced file's content is what counts, whatever its modification time says)."""

    def read() -> PemPair:
        return PemPair(cert_file.read_text(), key_file.read_text())

    async def source() -> PemPair | None:
        return await anyio.to_thread.run_sync(read)

    return source


def config_key_source(ceph: CephClient, mgr_name: str | None) -> PemSource:
    """config-key, in `cephgw serve`'s order: mgr/restful/<mgr>/crt|key, then mgr/restful/.

    A look is one `config-key dump` of mgr/restful/. Where the gateway's user may not dump
    it (the caps docs/deploy.md gave before, which allow `config-key get` there), the look
    is, from the first refusal on, the 2 to 4 `config-key get` it takes.
    """
    dump_refused = False

    async def source() -> PemPair | None:
        nonlocal dump_refused
        if not ceph.connected:
            return None
        if dump_refused:
            found = await restful_config.get_certificate(ceph, mgr_name)
        else:
            try:
                found = await restful_config.dump_certificate(ceph, mgr_name)
            except CephError as exc:
                if exc.errno not in (errno.EACCES, errno.EPERM):
                    raise
                dump_refused = True
                log.info(
                    "this user may not dump config-key %s: the TLS certificate is re-read "
                    "with config-key get (%s)",
                    restful_config.MODULE_PREFIX,
                    exc,
                )
                found = await restful_config.get_certificate(ceph, mgr_name)
        return PemPair(*found) if found else None

    return source


class ServedCertificate:
    """The certificate this process presents now (for /readyz); a reload replaces it."""

    def __init__(self, cert_pem: str) -> None:
        self.pem = cert_pem
        self.certificate = x509.load_pem_x509_certificate(cert_pem.encode())


class CertificateReloader:
    """Watches the certificate's source and installs what changed there and is servable."""

    def __init__(
        self,
        served: ServedCertificate,
        source: PemSource,
        install: CertificateInstaller,
        interval: float,
    ) -> None:
        self._source = source
        self._install = install
        self._interval = interval
        # What was last installed (or served from the start), to tell a change; a servable
        # pair whose certificate is this one has this key too (the key is the certificate's).
        self._installed_pem = served.pem
        self._served = served
        # The pair last read, so that one seen already (refused, or installed) costs nothing
        # more than the read, and a refusal is logged once, not at every read.
        self._last_read: PemPair | None = None
        # An unusable pair read once, maybe half-way through its replacement.
        self._unusable_once: PemPair | None = None

    async def check(self) -> bool:
        """One look at the source; True when a new certificate was installed."""
        pair = await self._source()
        if pair is None or pair == self._last_read:
            return False
        try:
            certificate = checked_certificate(pair)
        except UnusablePemPair as exc:
            if pair != self._unusable_once:
                # The certificate and the key are replaced one after the other (two
                # config-key writes, two files): a look between the two sees a new one and
                # an old one. Refused when the next look finds the same.
                self._unusable_once = pair
                return False
            self._last_read = pair
            log.warning("refused the new TLS certificate, serving the old one: %s", exc)
            return False
        self._last_read = pair
        if pair.cert_pem == self._installed_pem:
            return False
        try:
            serves_it = await self._install(pair)
        except BaseException:
            self._last_read = None  # tried again at the next look
            raise
        self._installed_pem = pair.cert_pem
        if serves_it:
            self._served.pem, self._served.certificate = pair.cert_pem, certificate
        log.info(
            "TLS certificate replaced: serial %x, valid until %s",
            certificate.serial_number,
            certificate.not_valid_after_utc.isoformat(),
        )
        return True

    async def keep_checking(self) -> None:
        """Check forever; a failed look (the cluster away, a file missing) keeps the served
        certificate and is tried again."""
        while True:
            try:
                await self.check()
            except Exception as exc:
                log.warning("cannot check the TLS certificate for a change: %s", exc)
            await anyio.sleep(self._interval)
