"""errno → HTTP status: the mapping every Ceph error goes through."""

from __future__ import annotations

import errno

import pytest

from app.errors import (
    CephError,
    ServiceUnavailable,
    TooManyRequests,
    Unauthorized,
    status_for_errno,
)


@pytest.mark.parametrize(
    ("code", "status"),
    [
        (errno.ENOENT, 404),
        (errno.EINVAL, 400),
        (errno.EPERM, 403),
        (errno.EACCES, 403),
        (errno.EEXIST, 409),
        (errno.EBUSY, 409),
        (errno.ETIMEDOUT, 504),
        (errno.EIO, 502),
        (errno.ENOSPC, 502),
    ],
)
def test_status_for_errno(code: int, status: int) -> None:
    assert status_for_errno(code) == status
    assert status_for_errno(-code) == status  # librados returns negative errnos


def test_ceph_error_keeps_errno_message_and_command() -> None:
    exc = CephError(errno.ENOENT, "pool 'x' does not exist", "osd pool get pool=x")
    assert (exc.errno, exc.status_code, exc.message, exc.command) == (
        errno.ENOENT,
        404,
        "pool 'x' does not exist",
        "osd pool get pool=x",
    )


def test_ceph_error_without_message_names_the_errno() -> None:
    assert CephError(errno.EBUSY, "").message == "EBUSY"


def test_unavailable_throttled_and_unauthorized_carry_their_headers() -> None:
    assert ServiceUnavailable("down", retry_after=7).headers == {"Retry-After": "7"}
    throttled = TooManyRequests("slow down", retry_after=42)
    assert (throttled.status_code, throttled.headers) == (429, {"Retry-After": "42"})
    assert Unauthorized().headers == {"WWW-Authenticate": 'Basic realm="cephgw"'}
