"""The readiness checks' pure parts: whether a certificate is valid at a given time."""

from __future__ import annotations

import datetime as dt

from cryptography import x509

from app.ceph.health import tls_check
from tests.support.certificates import certificate_pem


def test_tls_check_bounds() -> None:
    now = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    cert = x509.load_pem_x509_certificate(
        certificate_pem(now - dt.timedelta(days=1), now + dt.timedelta(days=1)).encode()
    )
    assert tls_check(cert, now).status == "ok"
    assert tls_check(cert, now + dt.timedelta(days=1)).status == "unavailable"
    assert tls_check(cert, now - dt.timedelta(days=2)).detail.startswith("certificate not valid")
    assert tls_check(None, now).status == "ok"
