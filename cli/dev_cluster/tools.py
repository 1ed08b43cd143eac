"""Running Ceph's command-line tools: deadlines, errors with one readable message, log tails."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

REQUIRED_BINARIES = ("ceph-mon", "ceph-mgr", "ceph-osd", "ceph", "ceph-authtool", "monmaptool")
APT_PACKAGES = "ceph-mon ceph-mgr ceph-osd ceph-mgr-modules-core python3-rados"

# The ceph CLI is a Python program that takes ~0.3 s to start; a single call never
# needs long, and a stuck one must not eat the whole `up` budget.
_CEPH_CALL_TIMEOUT = 30.0


class DevClusterError(Exception):
    """A failure with one readable message, meant to be printed as is."""


class MissingCephBinaries(DevClusterError):
    """Ceph's daemons or tools are not installed."""


class _Deadline:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.end = time.monotonic() + seconds

    def remaining(self) -> float:
        left = self.end - time.monotonic()
        if left <= 0:
            raise DevClusterError(f"timed out after {self.seconds:g} s")
        return left

    def call_timeout(self, cap: float = _CEPH_CALL_TIMEOUT) -> float:
        return min(cap, self.remaining())


def _check_binaries() -> None:
    missing = [name for name in REQUIRED_BINARIES if shutil.which(name) is None]
    if missing:
        raise MissingCephBinaries(
            f"Ceph binaries not found on PATH ({', '.join(missing)}): "
            f"apt-get install {APT_PACKAGES}"
        )


def ceph_release() -> str:
    """The installed Ceph's release name (`pacific`, `reef`, `tentacle`...), from `ceph -v`."""
    out = _run(["ceph", "--version"], timeout=_CEPH_CALL_TIMEOUT, what="ceph --version")
    # "ceph version 18.2.7 (6b0e988052ec84cf2d4a54ff9bbbc5e720b621ad) reef (stable)"
    words = out.split()
    try:
        return words[words.index("version") + 3]
    except (ValueError, IndexError) as exc:
        raise DevClusterError(f"ceph --version: unexpected output {out!r}") from exc


def _tail(path: Path, lines: int = 10) -> str:
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - 16384))
            text = handle.read().decode("utf-8", "replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def _with_log(message: str, *logs: Path) -> str:
    parts = [message]
    for log in logs:
        tail = _tail(log)
        # A daemon that failed in the foreground often printed its log to stderr too.
        if tail and tail.splitlines()[-1] not in message:
            parts.append(f"--- last lines of {log} ---\n{tail}")
    return "\n".join(parts)


def _run(cmd: list[str], *, timeout: float, what: str, logs: tuple[Path, ...] = ()) -> str:
    try:
        proc = subprocess.run(
            cmd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
        )
    except FileNotFoundError as exc:
        raise MissingCephBinaries(
            f"{cmd[0]} not found on PATH: apt-get install {APT_PACKAGES}"
        ) from exc
    except subprocess.TimeoutExpired as exc:
        raise DevClusterError(_with_log(f"{what}: no answer after {timeout:.0f} s", *logs)) from exc
    if proc.returncode != 0:
        output = (proc.stderr.strip() or proc.stdout.strip())[-2000:]
        raise DevClusterError(_with_log(f"{what} failed (exit {proc.returncode}): {output}", *logs))
    return proc.stdout


def _ceph(conf: Path, *args: str, timeout: float, what: str = "") -> str:
    connect = max(1, int(timeout))
    cmd = ["ceph", "-c", str(conf), "--connect-timeout", str(connect), *args]
    return _run(cmd, timeout=timeout + 5, what=what or f"ceph {' '.join(args)}")
