"""The cluster's daemons as processes: which are ours, starting one, stopping them all.

A daemon is ours when its command line holds this cluster's conf path and it shares our
file system root; pid files are only a first guess, checked against /proc.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from cli.dev_cluster.tools import DevClusterError, _Deadline, _with_log

_STOP_GRACE = 5.0


def _cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [arg.decode("utf-8", "replace") for arg in raw.split(b"\0") if arg]


def _same_root(pid: int) -> bool:
    # /proc shows every process of the machine, also those of another file system root: a
    # cluster in a chroot (another Ceph release) can have the very same conf path as one on
    # the host, and must never be taken for it.
    try:
        theirs, ours = os.stat(f"/proc/{pid}/root"), os.stat("/")
    except OSError:
        return False
    return (theirs.st_dev, theirs.st_ino) == (ours.st_dev, ours.st_ino)


def _is_ours(pid: int, conf: Path) -> bool:
    # An exited daemon that nobody reaped yet (a zombie) has an empty cmdline, so it
    # counts as gone; a recycled pid will not carry our conf path.
    return str(conf) in _cmdline(pid) and _same_root(pid)


def _read_pid(pid_file: Path) -> int | None:
    try:
        return int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return None


def _daemon_name(pid_file: Path) -> str:
    return pid_file.name.removesuffix(".pid")


def _own_processes(directory: Path) -> dict[int, str]:
    """Every live daemon of this cluster: by pid file, then by a /proc scan.

    The scan catches daemons whose pid file is not written yet (an interrupted `up`);
    it only matches Ceph daemons started with this cluster's conf path.
    """
    conf = directory / "ceph.conf"
    found: dict[int, str] = {}
    for pid_file in sorted((directory / "run").glob("*.pid")):
        pid = _read_pid(pid_file)
        if pid is not None and _is_ours(pid, conf):
            found[pid] = _daemon_name(pid_file)
    daemons = {"ceph-mon", "ceph-mgr", "ceph-osd"}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) in found:
            continue
        args = _cmdline(int(entry.name))
        if (
            args
            and Path(args[0]).name in daemons
            and str(conf) in args
            and _same_root(int(entry.name))
        ):
            found[int(entry.name)] = Path(args[0]).name
    return found


def _signal_and_wait(pids: dict[int, str], conf: Path) -> list[str]:
    """SIGTERM, then SIGKILL after a grace period; returns the names that survived."""
    alive = dict(pids)
    for sig, grace in ((signal.SIGTERM, _STOP_GRACE), (signal.SIGKILL, _STOP_GRACE)):
        for pid in list(alive):
            if not _is_ours(pid, conf):
                del alive[pid]
                continue
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                del alive[pid]
        end = time.monotonic() + grace
        while alive and time.monotonic() < end:
            time.sleep(0.05)
            alive = {pid: name for pid, name in alive.items() if _is_ours(pid, conf)}
        if not alive:
            return []
    return sorted(alive.values())


def _stop_daemon(directory: Path, name: str, sig: signal.Signals, deadline: _Deadline) -> int:
    """Sends `sig` to one running daemon and waits until it is gone; returns its pid."""
    conf = directory / "ceph.conf"
    pid = _read_pid(directory / "run" / f"{name}.pid")
    if pid is None or not _is_ours(pid, conf):
        raise DevClusterError(f"{name} of {directory} is not running")
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return pid
    while _is_ours(pid, conf):
        try:
            deadline.remaining()
        except DevClusterError as exc:
            raise DevClusterError(
                f"{name} (pid {pid}) still runs {deadline.seconds:g} s after {sig.name}"
            ) from exc
        time.sleep(0.05)
    return pid


def _stop_daemons(directory: Path) -> None:
    conf = directory / "ceph.conf"
    own = _own_processes(directory)
    # OSDs and the mgr first: with the mon still there they shut down at once instead
    # of retrying to report to it.
    clients = {pid: name for pid, name in own.items() if not name.startswith(("mon", "ceph-mon"))}
    mons = {pid: name for pid, name in own.items() if pid not in clients}
    survivors = _signal_and_wait(clients, conf) + _signal_and_wait(mons, conf)
    if survivors:
        raise DevClusterError(f"could not stop {', '.join(survivors)} of {directory}")


def _start_daemon(
    directory: Path,
    binary: str,
    name: str,
    deadline: _Deadline,
    env: dict[str, str] | None = None,
) -> int:
    """Starts one daemon, which forks into the background; returns its pid."""
    conf = directory / "ceph.conf"
    log = directory / "log" / f"{name}.log"
    # The daemon's own early output (before its log file opens) goes to a file, not a
    # pipe: a pipe held open by the forked daemon would block us until it exits.
    out_path = directory / "log" / f"{name}.out"
    daemon_id = name.split(".", 1)[1]
    with out_path.open("ab") as out:
        try:
            proc = subprocess.run(
                [binary, "-c", str(conf), "-i", daemon_id],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                timeout=deadline.call_timeout(),
                start_new_session=True,
            )
        except subprocess.TimeoutExpired as exc:
            raise DevClusterError(_with_log(f"{name} did not start", out_path, log)) from exc
    if proc.returncode != 0:
        raise DevClusterError(
            _with_log(f"{name} failed to start (exit {proc.returncode})", out_path, log)
        )
    pid_file = directory / "run" / f"{name}.pid"
    while True:
        pid = _read_pid(pid_file)
        if pid is not None and _is_ours(pid, conf):
            return pid
        try:
            deadline.remaining()
        except DevClusterError as exc:
            raise DevClusterError(_with_log(f"{name} wrote no pid file", out_path, log)) from exc
        time.sleep(0.05)


def _daemons_running(directory: Path, names: list[str]) -> list[str]:
    conf = directory / "ceph.conf"
    running = []
    for name in names:
        pid = _read_pid(directory / "run" / f"{name}.pid")
        if pid is not None and _is_ours(pid, conf):
            running.append(name)
    return running
