"""Throwaway Ceph cluster for development and integration tests.

One mon (``a``), one mgr (``x``) and N memstore OSDs, all bound to 127.0.0.1 and
keeping every file (config, keys, data, sockets, logs, pid files) inside one
directory, so that several clusters can run side by side and ``down`` can remove
one without leaving anything behind. Data lives in RAM (memstore): nothing here is
meant to survive a restart.

Only Ceph's own binaries are used (ceph-mon, ceph-mgr, ceph-osd, ceph, ceph-authtool,
monmaptool); the steps follow the order that works on Ceph 16 (Pacific) and later.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

# A fixed, short path: the CLI and a gateway started by hand agree on it without
# flags, and admin socket paths stay far below the sun_path limit. `up` refuses a
# directory another user owns, so a squatter on it gets nothing.
DEFAULT_DIR = Path("/tmp/cephgw-dev-cluster")  # noqa: S108

MON_NAME = "a"
MGR_NAME = "x"
REQUIRED_BINARIES = ("ceph-mon", "ceph-mgr", "ceph-osd", "ceph", "ceph-authtool", "monmaptool")
APT_PACKAGES = "ceph-mon ceph-mgr ceph-osd ceph-mgr-modules-core python3-rados"
MEMSTORE_BYTES_PER_OSD = 256 * 1024 * 1024
POOL_PG_NUM = 8

STATE_FILE = "cluster.json"
# Written before anything else, so that `up` and `down` only ever wipe a directory
# that this module created.
MARKER_FILE = ".cephgw-dev-cluster"

# Characters that ceph.conf would read as comments, metavariables or quoting.
_UNSAFE_PATH_CHARS = frozenset("#;$\"'\\=[]\n\r\t")
# sun_path holds 108 bytes; longer admin socket paths make the daemons fail to bind.
_MAX_SOCKET_PATH = 107
_LONGEST_SOCKET_SUFFIX = "/run/mon.a.asok.XXXXXX"

_STOP_GRACE = 5.0
_FIRST_POOL_GRACE = 10.0
_POLL = 0.25
# The ceph CLI is a Python program that takes ~0.3 s to start; a single call never
# needs long, and a stuck one must not eat the whole `up` budget.
_CEPH_CALL_TIMEOUT = 30.0


class DevClusterError(Exception):
    """A failure with one readable message, meant to be printed as is."""


class MissingCephBinaries(DevClusterError):
    """Ceph's daemons or tools are not installed."""


@dataclass(frozen=True)
class DevCluster:
    directory: Path
    conf: Path
    keyring: Path
    fsid: str
    mon_addr: str
    mgr_name: str


# --------------------------------------------------------------------------- helpers


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


def _free_ports(count: int) -> list[int]:
    # All sockets stay open until every port is picked, so the ports differ; the
    # kernel's ephemeral range never overlaps the 6800-7300 range the OSDs use.
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


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


def _is_dev_cluster_dir(directory: Path) -> bool:
    return (directory / MARKER_FILE).exists() or (directory / STATE_FILE).exists()


def _check_directory(directory: Path) -> None:
    text = str(directory)
    if _UNSAFE_PATH_CHARS.intersection(text) or text != text.strip():
        raise DevClusterError(
            f"{directory}: ceph.conf cannot hold this path; pick one without "
            "spaces at the ends or any of # ; $ = [ ] quotes or backslashes"
        )
    if len(text) + len(_LONGEST_SOCKET_SUFFIX) > _MAX_SOCKET_PATH:
        raise DevClusterError(
            f"{directory}: path too long for the daemons' admin sockets "
            f"(at most {_MAX_SOCKET_PATH - len(_LONGEST_SOCKET_SUFFIX)} characters)"
        )


def _mgr_disabled_modules() -> str | None:
    """The value for mgr_disabled_modules, or None to keep Ceph's default.

    ceph-mgr imports every module on disk. The dashboard loads python3-cryptography
    first, after which restful's `from OpenSSL import crypto` fails ("PyO3 modules may
    only be initialized once"), so restful never serves. Ceph's own default list is
    kept and the dashboard added to it.
    """
    if not Path("/usr/share/ceph/mgr/dashboard").is_dir():
        return None
    default = "diskprediction_local"
    if shutil.which("ceph-conf"):
        try:
            proc = subprocess.run(
                ["ceph-conf", "-c", "/dev/null", "--show-config-value", "mgr_disabled_modules"],
                capture_output=True,
                text=True,
                timeout=10,
                stdin=subprocess.DEVNULL,
            )
            if proc.returncode == 0:
                default = proc.stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            pass
    modules = [m for m in default.replace(",", " ").split() if m != "dashboard"]
    return " ".join([*modules, "dashboard"])


def _conf_text(directory: Path, fsid: str, v2_port: int, v1_port: int) -> str:
    d = str(directory)
    daemon_files = (
        f"log file = {d}/log/$name.log\n"
        f"admin socket = {d}/run/$name.asok\n"
        f"pid file = {d}/run/$name.pid\n"
    )
    disabled = _mgr_disabled_modules()
    mgr_extra = f"mgr disabled modules = {disabled}\n" if disabled else ""
    return (
        "# Throwaway dev cluster written by cephgw's cli/dev_cluster.py; "
        "`cephgw dev-cluster down` removes it.\n"
        "[global]\n"
        f"fsid = {fsid}\n"
        f"mon host = [v2:127.0.0.1:{v2_port},v1:127.0.0.1:{v1_port}]\n"
        "public addr = 127.0.0.1\n"
        "cluster addr = 127.0.0.1\n"
        "ms bind ipv6 = false\n"
        "auth cluster required = cephx\n"
        "auth service required = cephx\n"
        "auth client required = cephx\n"
        # Without it the mon reports HEALTH_WARN about insecure global_id reclaim.
        "auth allow insecure global id reclaim = false\n"
        f"keyring = {d}/keyring\n"
        f"run dir = {d}/run\n"
        f"crash dir = {d}/crash\n"
        "osd objectstore = memstore\n"
        # memstore keeps everything in RAM; this is also the size the OSD reports.
        f"memstore device bytes = {MEMSTORE_BYTES_PER_OSD}\n"
        "osd pool default size = 1\n"
        "osd pool default min size = 1\n"
        "mon allow pool size one = true\n"
        "mon allow pool delete = true\n"
        "mon warn on pool no redundancy = false\n"
        # All OSDs share one host: replicas are spread over OSDs, not hosts.
        "osd crush chooseleaf type = 0\n"
        # A handful of test pools at the default 32 PGs would exceed the 250 PGs per
        # OSD that a 1-OSD cluster allows, and pool creation would be refused.
        "mon max pg per osd = 1000\n"
        # A full-ish /tmp must not turn the health WARN or make the mon shut down.
        "mon data avail warn = 2\n"
        "mon data avail crit = 1\n"
        "mgr stats period = 1\n"
        # Pacific enables restful on a new cluster; it would listen on :: 8003 (the demo's
        # port) as soon as a certificate exists. Tests enable it on a port of their own.
        "mgr initial modules = iostat\n"
        # Tests mark OSDs down on purpose; past 5 markdowns in 10 minutes an OSD would shut
        # itself down for good and take later tests with it.
        "osd max markdown count = 1000\n"
        "\n[mon]\n"
        f"mon data = {d}/mon.$id\n"
        f"keyring = {d}/mon.$id/keyring\n"
        # Otherwise the mon writes the cluster log to /var/log/ceph.
        f"mon cluster log file = {d}/log/$cluster.$channel.log\n"
        f"{daemon_files}"
        "\n[mgr]\n"
        f"mgr data = {d}/mgr.$id\n"
        f"keyring = {d}/mgr.$id/keyring\n"
        f"{mgr_extra}"
        f"{daemon_files}"
        "\n[osd]\n"
        f"osd data = {d}/osd.$id\n"
        f"keyring = {d}/osd.$id/keyring\n"
        f"{daemon_files}"
    )


def _write_state(cluster: DevCluster, osds: int) -> None:
    state: dict[str, Any] = {key: str(value) for key, value in asdict(cluster).items()}
    state["osds"] = osds
    state["daemons"] = [f"mon.{MON_NAME}", f"mgr.{cluster.mgr_name}"] + [
        f"osd.{i}" for i in range(osds)
    ]
    path = cluster.directory / STATE_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=2) + "\n")
    tmp.replace(path)


def _read_state(directory: Path) -> dict[str, Any]:
    try:
        data = json.loads((directory / STATE_FILE).read_text())
    except FileNotFoundError as exc:
        raise DevClusterError(f"no dev cluster in {directory} ({STATE_FILE} missing)") from exc
    except (OSError, ValueError) as exc:
        raise DevClusterError(f"{directory / STATE_FILE}: unreadable ({exc})") from exc
    if not isinstance(data, dict):
        raise DevClusterError(f"{directory / STATE_FILE}: not a JSON object")
    return data


# Packages built with PyO3 that the mgr's Python modules import (mgr_util: bcrypt; restful:
# OpenSSL). ceph-mgr runs each module in a sub-interpreter, and the PyO3 of Debian 13's
# packages refuses those ("PyO3 modules do not yet support subinterpreters"): on Reef there,
# every mgr module fails to load, the restful module with them. The dev cluster's mgr then
# gets stand-ins that import, and refuse to be used: nothing a test cluster's mgr modules run
# needs them (cephgw and the tests make certificates themselves, and the dashboard is off).
PYO3_PACKAGES = ("bcrypt", "OpenSSL")
_SHIMS = "mgr-shims"
_SHIM_TEXT = """\
# Written by cephgw's dev cluster: {name} cannot load in ceph-mgr's sub-interpreters here.
def __getattr__(attr):
    raise AttributeError(f"{name}.{{attr}} is unavailable in this dev cluster's ceph-mgr (PyO3)")
"""
_SUBINTERPRETER_PROBE = """\
import _interpreters, sys
interp = _interpreters.create("legacy")
failed = [n for n in sys.argv[1:] if _interpreters.exec(interp, "import " + n) is not None]
print(" ".join(failed))
"""


def _packages_refusing_subinterpreters() -> list[str]:
    """Which of PYO3_PACKAGES Debian's Python cannot import in a sub-interpreter, as ceph-mgr
    needs; none where Python has no `_interpreters` to ask (before 3.13)."""
    try:
        proc = subprocess.run(
            ["/usr/bin/python3", "-c", _SUBINTERPRETER_PROBE, *PYO3_PACKAGES],
            capture_output=True,
            text=True,
            timeout=30,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired):
        return []
    return proc.stdout.split() if proc.returncode == 0 else []


def _mgr_environment(directory: Path) -> dict[str, str] | None:
    """The environment ceph-mgr starts with: stand-ins first on its path where needed."""
    refused = _packages_refusing_subinterpreters()
    if not refused:
        return None
    shims = directory / _SHIMS
    for name in refused:
        package = shims / name
        package.mkdir(parents=True, exist_ok=True)
        (package / "__init__.py").write_text(_SHIM_TEXT.format(name=name))
        if name == "OpenSSL":  # `from OpenSSL import crypto, SSL`: submodules, found first
            (package / "__init__.py").write_text("")
            for sub in ("crypto", "SSL"):
                (package / f"{sub}.py").write_text(_SHIM_TEXT.format(name=f"OpenSSL.{sub}"))
    return {**os.environ, "PYTHONPATH": str(shims)}


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


def _create_mon(directory: Path, fsid: str, mon_host: str, deadline: _Deadline) -> None:
    conf = directory / "ceph.conf"
    keyring = directory / "keyring"
    mon_keyring = directory / "mon.keyring"
    monmap = directory / "monmap"
    authtool = "ceph-authtool"
    _run(
        [
            authtool, str(keyring), "--create-keyring", "--gen-key", "-n", "client.admin",
            "--cap", "mon", "allow *", "--cap", "osd", "allow *",
            "--cap", "mds", "allow *", "--cap", "mgr", "allow *",
        ],
        timeout=deadline.call_timeout(),
        what="ceph-authtool (client.admin)",
    )  # fmt: skip
    _run(
        [authtool, str(mon_keyring), "--create-keyring", "--gen-key", "-n", "mon.",
         "--cap", "mon", "allow *"],
        timeout=deadline.call_timeout(),
        what="ceph-authtool (mon.)",
    )  # fmt: skip
    _run(
        [authtool, str(mon_keyring), "--import-keyring", str(keyring)],
        timeout=deadline.call_timeout(),
        what="ceph-authtool --import-keyring",
    )
    _run(
        ["monmaptool", "--create", "--fsid", fsid, "--addv", MON_NAME, mon_host, str(monmap)],
        timeout=deadline.call_timeout(),
        what="monmaptool --create",
    )
    _run(
        ["ceph-mon", "-c", str(conf), "--mkfs", "-i", MON_NAME,
         "--monmap", str(monmap), "--keyring", str(mon_keyring)],
        timeout=deadline.call_timeout(),
        what="ceph-mon --mkfs",
        logs=(directory / "log" / f"mon.{MON_NAME}.log",),
    )  # fmt: skip
    _start_daemon(directory, "ceph-mon", f"mon.{MON_NAME}", deadline)


def _create_mgr(directory: Path, deadline: _Deadline) -> str:
    conf = directory / "ceph.conf"
    name = f"mgr.{MGR_NAME}"
    data = directory / name
    data.mkdir()
    _ceph(
        conf,
        "auth", "get-or-create", name,
        "mon", "allow profile mgr", "osd", "allow *", "mds", "allow *",
        "-o", str(data / "keyring"),
        timeout=deadline.call_timeout(),
    )  # fmt: skip
    _start_daemon(directory, "ceph-mgr", name, deadline, env=_mgr_environment(directory))
    return name


def _create_osd(directory: Path, deadline: _Deadline) -> str:
    conf = directory / "ceph.conf"
    osd_uuid = str(uuid.uuid4())
    secret = _run(
        ["ceph-authtool", "--gen-print-key"],
        timeout=deadline.call_timeout(),
        what="ceph-authtool --gen-print-key",
    ).strip()
    # `osd new` with a cephx secret registers the OSD and its key (with the standard
    # OSD caps) in one mon round trip; the key must exist before `--mkfs`, which
    # fetches the mon's config as that OSD.
    secrets = directory / f"osd-secret-{osd_uuid}.json"
    secrets.write_text(json.dumps({"cephx_secret": secret}))
    secrets.chmod(0o600)
    try:
        out = _ceph(
            conf, "osd", "new", osd_uuid, "-i", str(secrets), timeout=deadline.call_timeout()
        )
    finally:
        secrets.unlink(missing_ok=True)
    try:
        osd_id = int(out.strip().splitlines()[-1])
    except (ValueError, IndexError) as exc:
        raise DevClusterError(f"ceph osd new: unexpected output {out!r}") from exc
    name = f"osd.{osd_id}"
    data = directory / name
    data.mkdir()
    keyring = data / "keyring"
    keyring.write_text(f"[{name}]\n\tkey = {secret}\n")
    keyring.chmod(0o600)
    _run(
        ["ceph-osd", "-c", str(conf), "-i", str(osd_id), "--mkfs", "--osd-uuid", osd_uuid],
        timeout=deadline.call_timeout(),
        what=f"ceph-osd --mkfs ({name})",
        logs=(directory / "log" / f"{name}.log",),
    )
    _start_daemon(directory, "ceph-osd", name, deadline)
    return name


def _num_up_osds(status: dict[str, Any]) -> int:
    osdmap = status.get("osdmap", {})
    # Nautilus nested the counters one level deeper than later releases.
    osdmap = osdmap.get("osdmap", osdmap)
    return int(osdmap.get("num_up_osds", 0))


def _pg_states(status: dict[str, Any]) -> tuple[int, int, str]:
    """(PG count, active+clean count, summary) from `ceph status` JSON."""
    pgmap = status.get("pgmap", {})
    by_state = pgmap.get("pgs_by_state", [])
    clean = sum(int(s["count"]) for s in by_state if s.get("state_name") == "active+clean")
    summary = ", ".join(f"{s.get('count')} {s.get('state_name')}" for s in by_state)
    return int(pgmap.get("num_pgs", 0)), clean, summary or "no PGs"


def _wait_ready(directory: Path, osds: int, deadline: _Deadline) -> None:
    """Waits for every OSD up, the mgr available and the mgr's own pool active+clean.

    The mgr creates its pool (device_health_metrics on Pacific, .mgr later) just
    after it becomes available; waiting for it means tests never see the pool list
    or the PG states change under them. Should a release create no pool, the wait
    ends _FIRST_POOL_GRACE seconds after the rest is ready.
    """
    conf = directory / "ceph.conf"
    log_dir = directory / "log"
    daemons = [f"mon.{MON_NAME}", f"mgr.{MGR_NAME}"] + [f"osd.{i}" for i in range(osds)]
    up, mgr_ok, num_pgs, clean, pgs = 0, False, 0, 0, "no answer yet"
    ready_since: float | None = None
    while True:
        running = set(_daemons_running(directory, daemons))
        dead = [name for name in daemons if name not in running]
        if dead:
            raise DevClusterError(
                _with_log(
                    f"{', '.join(dead)} exited while the cluster was starting",
                    *(log_dir / f"{name}.log" for name in dead),
                )
            )
        try:
            out = _ceph(conf, "status", "-f", "json", timeout=deadline.call_timeout(10.0))
            status = json.loads(out)
            up = _num_up_osds(status)
            mgr_ok = bool(status.get("mgrmap", {}).get("available", False))
            num_pgs, clean, pgs = _pg_states(status)
        except DevClusterError:
            if time.monotonic() >= deadline.end:
                break
        except (ValueError, KeyError, TypeError, AttributeError):
            pass
        now = time.monotonic()
        if up >= osds and mgr_ok:
            ready_since = now if ready_since is None else ready_since
            if num_pgs > 0 and clean == num_pgs:
                return
            if num_pgs == 0 and now - ready_since >= _FIRST_POOL_GRACE:
                return
        if now + _POLL >= deadline.end:
            break
        time.sleep(_POLL)
    lagging = [] if mgr_ok else [log_dir / f"mgr.{MGR_NAME}.log"]
    if up < osds or (num_pgs and clean < num_pgs):
        lagging += [log_dir / f"osd.{i}.log" for i in range(osds)]
    raise DevClusterError(
        _with_log(
            f"timed out after {deadline.seconds:g} s: {up}/{osds} OSDs up, "
            f"mgr {'available' if mgr_ok else 'not available'}, PGs: {pgs}",
            *lagging,
        )
    )


def _daemons_running(directory: Path, names: list[str]) -> list[str]:
    conf = directory / "ceph.conf"
    running = []
    for name in names:
        pid = _read_pid(directory / "run" / f"{name}.pid")
        if pid is not None and _is_ours(pid, conf):
            running.append(name)
    return running


# --------------------------------------------------------------------------- API


def up(
    directory: Path = DEFAULT_DIR,
    osds: int = 3,
    *,
    pools: Sequence[str] = (),
    timeout: float = 60.0,
) -> DevCluster:
    """Starts a cluster in `directory`; returns once it can serve requests.

    That is: all OSDs up, the mgr available, and the pools (`pools`, each with
    POOL_PG_NUM PGs, and the one the mgr makes for itself, where the release makes one)
    active+clean. On failure the daemons are stopped and the directory is kept, with
    its logs; `down` removes it.
    """
    if osds < 1:
        raise DevClusterError(f"need at least 1 OSD, got {osds}")
    _check_binaries()
    directory = directory.expanduser().absolute()
    _check_directory(directory)
    deadline = _Deadline(timeout)

    if directory.exists():
        if not directory.is_dir():
            raise DevClusterError(f"{directory} exists and is not a directory")
        if directory.stat().st_uid != os.getuid():
            raise DevClusterError(f"{directory} belongs to another user: not used")
        if any(directory.iterdir()) and not _is_dev_cluster_dir(directory):
            raise DevClusterError(f"{directory} is not empty and holds no dev cluster: not used")
        running = _own_processes(directory)
        if running:
            raise DevClusterError(
                f"{directory} already holds a running cluster "
                f"({', '.join(sorted(running.values()))}): run `dev-cluster down` first"
            )
        shutil.rmtree(directory)

    directory.mkdir(parents=True)
    (directory / MARKER_FILE).write_text("cephgw dev cluster\n")
    for sub in ("run", "log", "crash"):
        (directory / sub).mkdir()

    fsid = str(uuid.uuid4())
    v2_port, v1_port = _free_ports(2)
    mon_host = f"[v2:127.0.0.1:{v2_port},v1:127.0.0.1:{v1_port}]"
    conf = directory / "ceph.conf"
    conf.write_text(_conf_text(directory, fsid, v2_port, v1_port))
    cluster = DevCluster(
        directory=directory,
        conf=conf,
        keyring=directory / "keyring",
        fsid=fsid,
        mon_addr=f"127.0.0.1:{v2_port}",
        mgr_name=MGR_NAME,
    )
    _write_state(cluster, osds)

    try:
        _create_mon(directory, fsid, mon_host, deadline)
        # Each mon update waits for a paxos round; doing the mgr and every OSD at once
        # lets the mon batch them, and the mgr loads its Python modules meanwhile.
        with ThreadPoolExecutor(max_workers=osds + 1) as executor:
            futures = [executor.submit(_create_mgr, directory, deadline)]
            futures += [executor.submit(_create_osd, directory, deadline) for _ in range(osds)]
            for future in futures:
                future.result()
        for name in pools:
            # Not every release's mgr makes a pool of its own (Reef makes none here): these
            # are the pools a user of the cluster can count on.
            _ceph(conf, "osd", "pool", "create", name, str(POOL_PG_NUM),
                  timeout=deadline.call_timeout())  # fmt: skip
        _wait_ready(directory, osds, deadline)
    except BaseException as exc:
        with contextlib.suppress(DevClusterError):
            _stop_daemons(directory)
        if isinstance(exc, DevClusterError):
            raise DevClusterError(
                f"{exc}\n(logs kept in {directory / 'log'}; "
                f"`dev-cluster down --dir {directory}` removes them)"
            ) from exc
        raise
    return cluster


def down(directory: Path = DEFAULT_DIR) -> None:
    """Stops the daemons this cluster started and removes `directory`."""
    directory = directory.expanduser().absolute()
    if not directory.exists():
        return
    if not directory.is_dir():
        raise DevClusterError(f"{directory} is not a directory")
    if not _is_dev_cluster_dir(directory):
        if any(directory.iterdir()):
            raise DevClusterError(f"{directory} holds no dev cluster: not removed")
        directory.rmdir()
        return
    _stop_daemons(directory)
    shutil.rmtree(directory)


def load(directory: Path = DEFAULT_DIR) -> DevCluster:
    """The cluster recorded in `directory` (running or not)."""
    directory = directory.expanduser().absolute()
    state = _read_state(directory)
    try:
        return DevCluster(
            directory=Path(state["directory"]),
            conf=Path(state["conf"]),
            keyring=Path(state["keyring"]),
            fsid=str(state["fsid"]),
            mon_addr=str(state["mon_addr"]),
            mgr_name=str(state["mgr_name"]),
        )
    except KeyError as exc:
        raise DevClusterError(f"{directory / STATE_FILE}: missing {exc}") from exc


def start_osd(cluster: DevCluster, osd_id: int, *, timeout: float = 30.0) -> int:
    """Starts OSD `osd_id` of a running cluster again, as `up` started it; returns its pid.

    For tests that stop an OSD and bring it back. Returns once the daemon runs, not once
    the mon has marked it up.
    """
    return _start_daemon(cluster.directory, "ceph-osd", f"osd.{osd_id}", _Deadline(timeout))


def status(directory: Path = DEFAULT_DIR) -> dict[str, object]:
    """What `directory` holds and which of its daemons run.

    `running` is true when every daemon the cluster was started with is alive.
    """
    directory = directory.expanduser().absolute()
    result: dict[str, object] = {"directory": str(directory), "exists": directory.is_dir()}
    if not directory.is_dir():
        result.update(running=False, daemons={})
        return result
    conf = directory / "ceph.conf"
    names: list[str] = []
    try:
        state = _read_state(directory)
        result.update(
            {
                key: state.get(key)
                for key in ("conf", "keyring", "fsid", "mon_addr", "mgr_name", "osds")
            }
        )
        names = [str(name) for name in state.get("daemons", [])]
    except DevClusterError as exc:
        result["error"] = str(exc)
    names += [
        _daemon_name(p) for p in sorted((directory / "run").glob("*.pid"))
        if _daemon_name(p) not in names
    ]  # fmt: skip
    daemons: dict[str, dict[str, object]] = {}
    for name in names:
        pid = _read_pid(directory / "run" / f"{name}.pid")
        daemons[name] = {"pid": pid, "running": pid is not None and _is_ours(pid, conf)}
    result["daemons"] = daemons
    result["running"] = bool(daemons) and all(d["running"] for d in daemons.values())
    return result


# --------------------------------------------------------------------------- CLI


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def add_arguments(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Registers `dev-cluster up|down|status` on the CLI's subparsers."""
    parser = subparsers.add_parser(
        "dev-cluster",
        help="run a throwaway local Ceph cluster (1 mon, 1 mgr, memstore OSDs)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("action", choices=("up", "down", "status"))
    parser.add_argument(
        "--dir",
        dest="directory",
        type=Path,
        default=DEFAULT_DIR,
        help=f"cluster directory (default: {DEFAULT_DIR})",
    )
    parser.add_argument(
        "--osds", type=_positive_int, default=3, help="number of OSDs for `up` (default: 3)"
    )
    parser.add_argument(
        "--pool",
        dest="pools",
        action="append",
        default=[],
        metavar="NAME",
        help=f"`up`: create a pool of {POOL_PG_NUM} PGs (repeatable; default: none)",
    )
    parser.add_argument(
        "--timeout", type=float, default=60.0, help="seconds `up` may take (default: 60)"
    )
    parser.add_argument("--json", action="store_true", help="`status`: print JSON")
    parser.set_defaults(func=run)


def _print_status(info: dict[str, object]) -> None:
    print(f"directory: {info['directory']}")
    if not info.get("exists"):
        print("no cluster")
        return
    for key in ("conf", "keyring", "fsid", "mon_addr", "error"):
        if info.get(key) is not None:
            print(f"{key}: {info[key]}")
    daemons = info.get("daemons")
    if isinstance(daemons, dict):
        for name, daemon in daemons.items():
            state = "running" if daemon.get("running") else "not running"
            print(f"  {name:<8} pid {daemon.get('pid') or '-':<8} {state}")


def run(args: argparse.Namespace) -> int:
    """Executes a parsed `dev-cluster` command; returns the process exit code."""
    directory: Path = args.directory
    try:
        if args.action == "up":
            started = time.monotonic()
            cluster = up(directory, args.osds, pools=args.pools, timeout=args.timeout)
            elapsed = time.monotonic() - started
            print(
                f"dev cluster up in {elapsed:.1f} s: Ceph {ceph_release()}, {args.osds} OSD(s), "
                f"mon {cluster.mon_addr}, fsid {cluster.fsid}"
            )
            print(f"conf:    {cluster.conf}")
            print(f"keyring: {cluster.keyring}")
            print(f"export CEPH_CONF={cluster.conf}")
        elif args.action == "down":
            existed = directory.exists()
            down(directory)
            print(f"dev cluster in {directory} {'stopped and removed' if existed else 'not found'}")
        else:
            info = status(directory)
            if getattr(args, "json", False):
                print(json.dumps(info, indent=2))
            else:
                _print_status(info)
            return 0 if info.get("running") else 1
    except MissingCephBinaries as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except DevClusterError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0
