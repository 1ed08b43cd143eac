"""Self-signed certificates, made with the `cryptography` package."""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

KeyType = Literal["rsa", "ec"]
# The module's certificates lasted ten years; operators replace them by hand, rarely.
VALIDITY = dt.timedelta(days=3650)


def make_self_signed_cert(
    hostname: str | None = None, key_type: KeyType = "rsa"
) -> tuple[str, str]:
    """A (certificate PEM, private key PEM) pair valid for the host name, 127.0.0.1 and ::1."""
    if not hostname:
        # getfqdn() says "localhost" on hosts whose name only resolves to loopback; the
        # plain host name is then the better name to put in the certificate.
        fqdn = socket.getfqdn()
        hostname = socket.gethostname() if fqdn.startswith("localhost") else fqdn
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        if key_type == "rsa"
        else ec.generate_private_key(ec.SECP256R1())
    )
    names = {hostname, hostname.split(".")[0], socket.gethostname(), "localhost"}
    alt_names: list[x509.GeneralName] = [x509.DNSName(n) for n in sorted(names) if n]
    alt_names += [
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        x509.IPAddress(ipaddress.ip_address("::1")),
    ]
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "cephgw"),
            x509.NameAttribute(NameOID.COMMON_NAME, hostname),
        ]
    )
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return cert_pem, key_pem
