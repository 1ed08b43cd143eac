"""Self-signed certificates."""

from __future__ import annotations

import ipaddress
import socket

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from app.tls import KeyType, make_self_signed_cert


@pytest.mark.parametrize(
    ("key_type", "key_class"), [("rsa", rsa.RSAPrivateKey), ("ec", ec.EllipticCurvePrivateKey)]
)
def test_certificate_and_key_match_with_sans(key_type: KeyType, key_class: type) -> None:
    cert_pem, key_pem = make_self_signed_cert("gw.example.org", key_type)
    cert = x509.load_pem_x509_certificate(cert_pem.encode())
    key = serialization.load_pem_private_key(key_pem.encode(), password=None)
    assert isinstance(key, key_class)
    assert cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    ) == key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    # This host's own name too, so a certificate made on the gateway's host names it.
    assert set(sans.get_values_for_type(x509.DNSName)) == {
        "gw.example.org",
        "gw",
        socket.gethostname(),
        "localhost",
    }
    assert set(sans.get_values_for_type(x509.IPAddress)) == {
        ipaddress.ip_address("127.0.0.1"),
        ipaddress.ip_address("::1"),
    }
    if key_type == "rsa":
        assert isinstance(key, rsa.RSAPrivateKey)
        assert key.key_size == 2048
