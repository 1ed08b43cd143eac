"""One base exception, a few subclasses, and the errno → HTTP status mapping for Ceph errors."""

from __future__ import annotations

import errno as errno_codes


class GatewayError(Exception):
    """An error with a message for the client and the HTTP status it is answered with."""

    status_code = 500
    headers: dict[str, str] | None = None

    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status_code is not None:
            self.status_code = status_code


class BadRequest(GatewayError):
    status_code = 400


class Unauthorized(GatewayError):
    status_code = 401

    def __init__(self, message: str = "Authentication required") -> None:
        super().__init__(message)
        self.headers = {"WWW-Authenticate": 'Basic realm="cephgw"'}


class Forbidden(GatewayError):
    status_code = 403


class NotFound(GatewayError):
    status_code = 404


class Conflict(GatewayError):
    status_code = 409


class ServiceUnavailable(GatewayError):
    """The gateway cannot serve this now (the cluster is unreachable, the job table is full or
    closing); the client should retry after `Retry-After` seconds."""

    status_code = 503

    def __init__(self, message: str, retry_after: int = 5) -> None:
        super().__init__(message)
        self.headers = {"Retry-After": str(retry_after)}


class TooManyRequests(GatewayError):
    """This client failed too often lately (authentication, app/auth.py's LoginThrottle);
    it may try again after `Retry-After` seconds."""

    status_code = 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.headers = {"Retry-After": str(retry_after)}


class CephError(GatewayError):
    """A librados call returned an error; carries Ceph's errno and message."""

    def __init__(self, errno: int, message: str, command: str = "") -> None:
        super().__init__(message or errno_codes.errorcode.get(errno, f"errno {errno}"))
        self.errno = errno
        self.command = command
        self.status_code = status_for_errno(errno)


_ERRNO_STATUS: dict[int, int] = {
    errno_codes.ENOENT: 404,
    errno_codes.EINVAL: 400,
    errno_codes.EPERM: 403,
    errno_codes.EACCES: 403,
    errno_codes.EEXIST: 409,
    errno_codes.EBUSY: 409,
    errno_codes.ETIMEDOUT: 504,
}


def status_for_errno(errno: int) -> int:
    """HTTP status for a (positive or negative) errno; anything unmapped is a bad gateway."""
    return _ERRNO_STATUS.get(abs(errno), 502)
