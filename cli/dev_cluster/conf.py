"""What a dev cluster's daemons are told: where it lives, its ceph.conf, the mgr's environment.

Every file of a cluster stays inside its one directory; ceph.conf names them all. The mgr
gets stand-ins for the PyO3 packages that cannot load in its sub-interpreters.
"""

from __future__ import annotations

import os
import shutil
import socket
import string
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cli.dev_cluster.tools import DevClusterError

# A fixed, short path: the CLI and a gateway started by hand agree on it without
# flags, and admin socket paths stay far below the sun_path limit. `up` refuses a
# directory another user owns, so a squatter on it gets nothing.
DEFAULT_DIR = Path("/tmp/cephgw-dev-cluster")  # noqa: S108

MON_NAME = "a"  # the first mon's; the others follow it in the alphabet
MAX_MONS = 26
MGR_NAME = "x"
MEMSTORE_BYTES_PER_OSD = 256 * 1024 * 1024

# Characters that ceph.conf would read as comments, metavariables or quoting.
_UNSAFE_PATH_CHARS = frozenset("#;$\"'\\=[]\n\r\t")
# sun_path holds 108 bytes; longer admin socket paths make the daemons fail to bind.
_MAX_SOCKET_PATH = 107
_LONGEST_SOCKET_SUFFIX = "/run/mon.a.asok.XXXXXX"


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


@dataclass(frozen=True)
class _Mon:
    """One mon as ceph.conf and the initial monmap name it: its id and its two ports."""

    name: str
    v2_port: int
    v1_port: int

    @property
    def addrvec(self) -> str:
        return f"[v2:127.0.0.1:{self.v2_port},v1:127.0.0.1:{self.v1_port}]"


def _mon_names(count: int) -> list[str]:
    """a, b, c, ...: `count` mon ids."""
    if not 1 <= count <= MAX_MONS:
        raise DevClusterError(f"need 1 to {MAX_MONS} mons, got {count}")
    return list(string.ascii_lowercase[:count])


def _plan_mons(count: int) -> list[_Mon]:
    """`count` mons, each on a free loopback port pair (v2, v1) of its own."""
    names = _mon_names(count)
    ports = _free_ports(2 * count)
    return [_Mon(name, ports[2 * i], ports[2 * i + 1]) for i, name in enumerate(names)]


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


def _conf_text(directory: Path, fsid: str, mons: Sequence[_Mon]) -> str:
    d = str(directory)
    daemon_files = (
        f"log file = {d}/log/$name.log\n"
        f"admin socket = {d}/run/$name.asok\n"
        f"pid file = {d}/run/$name.pid\n"
    )
    disabled = _mgr_disabled_modules()
    mgr_extra = f"mgr disabled modules = {disabled}\n" if disabled else ""
    return (
        "# Throwaway dev cluster written by cephgw's cli/dev_cluster; "
        "`cephgw dev-cluster down` removes it.\n"
        "[global]\n"
        f"fsid = {fsid}\n"
        f"mon host = {','.join(mon.addrvec for mon in mons)}\n"
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
        # Mons bind with nonce 0, so a restarted mon has its predecessor's address and its
        # peers reconnect to it on their backoff, by then at 15 s: it would stay out of the
        # quorum for up to that long. On loopback a retry costs nothing.
        "ms max backoff = 1\n"
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
