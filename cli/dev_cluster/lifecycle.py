"""A whole cluster's life: `up` makes and starts it, `down` stops and removes it; tests stop
and start single daemons of it."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from cli.dev_cluster.bootstrap import _create_mgr, _create_mons, _create_osd, _create_pools
from cli.dev_cluster.conf import (
    DEFAULT_DIR,
    MGR_NAME,
    _check_directory,
    _conf_text,
    _mgr_environment,
    _mon_names,
    _plan_mons,
)
from cli.dev_cluster.processes import (
    _is_ours,
    _own_processes,
    _read_pid,
    _start_daemon,
    _stop_daemon,
    _stop_daemons,
)
from cli.dev_cluster.readiness import _wait_ready
from cli.dev_cluster.state import MARKER_FILE, DevCluster, _is_dev_cluster_dir, _write_state
from cli.dev_cluster.tools import DevClusterError, _check_binaries, _Deadline


def up(
    directory: Path = DEFAULT_DIR,
    osds: int = 3,
    *,
    mons: int = 1,
    pools: Sequence[str] = (),
    timeout: float = 60.0,
) -> DevCluster:
    """Starts a cluster of `mons` mons (a, b, c, ...) in `directory`; returns once it can
    serve requests.

    That is: every mon in quorum, all OSDs up, the mgr available, and the pools (`pools`,
    each with POOL_PG_NUM PGs, and the one the mgr makes for itself, where the release
    makes one) active+clean. On failure the daemons are stopped and the directory is kept, with
    its logs; `down` removes it.
    """
    if osds < 1:
        raise DevClusterError(f"need at least 1 OSD, got {osds}")
    _mon_names(mons)  # refuses a count out of range before anything is made
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
    planned = _plan_mons(mons)
    conf = directory / "ceph.conf"
    conf.write_text(_conf_text(directory, fsid, planned))
    cluster = DevCluster(
        directory=directory,
        conf=conf,
        keyring=directory / "keyring",
        fsid=fsid,
        mon_addr=f"127.0.0.1:{planned[0].v2_port}",
        mgr_name=MGR_NAME,
        mon_names=tuple(mon.name for mon in planned),
    )
    _write_state(cluster, osds)

    try:
        _create_mons(directory, fsid, planned, deadline)
        # Each mon update waits for a paxos round; doing the mgr and every OSD at once
        # lets the mon batch them, and the mgr loads its Python modules meanwhile.
        with ThreadPoolExecutor(max_workers=osds + 1) as executor:
            futures = [executor.submit(_create_mgr, directory, deadline)]
            futures += [executor.submit(_create_osd, directory, deadline) for _ in range(osds)]
            for future in futures:
                future.result()
        _create_pools(conf, pools, deadline)
        _wait_ready(directory, cluster.mon_names, osds, deadline)
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


def start_osd(cluster: DevCluster, osd_id: int, *, timeout: float = 30.0) -> int:
    """Starts OSD `osd_id` of a running cluster again, as `up` started it; returns its pid.

    For tests that stop an OSD and bring it back. Returns once the daemon runs, not once
    the mon has marked it up.
    """
    return _start_daemon(cluster.directory, "ceph-osd", f"osd.{osd_id}", _Deadline(timeout))


def stop_osd(cluster: DevCluster, osd_id: int, *, kill: bool = False, timeout: float = 30.0) -> int:
    """Stops OSD `osd_id` (SIGTERM, or SIGKILL with `kill`); returns its pid once it is gone.

    The mon marks it down once its peers report it (a lone OSD has none: `ceph osd down ID`
    tells the mon at once). `start_osd` brings it back.
    """
    sig = signal.SIGKILL if kill else signal.SIGTERM
    return _stop_daemon(cluster.directory, f"osd.{osd_id}", sig, _Deadline(timeout))


def _check_mon(cluster: DevCluster, name: str) -> str:
    if name not in cluster.mon_names:
        raise DevClusterError(
            f"no mon {name!r} in {cluster.directory} (mons: {', '.join(cluster.mon_names)})"
        )
    return f"mon.{name}"


def stop_mon(cluster: DevCluster, name: str, *, kill: bool = False, timeout: float = 30.0) -> int:
    """Stops mon `name` (SIGTERM, or SIGKILL with `kill`); returns its pid once it is gone.

    For tests that take a mon away under load; `start_mon` brings it back. Raises
    DevClusterError when the mon does not run, or still runs after `timeout` seconds.
    """
    daemon = _check_mon(cluster, name)
    sig = signal.SIGKILL if kill else signal.SIGTERM
    return _stop_daemon(cluster.directory, daemon, sig, _Deadline(timeout))


def start_mon(cluster: DevCluster, name: str, *, timeout: float = 30.0) -> int:
    """Starts mon `name` of a running cluster again, as `up` started it; returns its pid.

    Returns once the daemon runs, not once it is back in the quorum.
    """
    daemon = _check_mon(cluster, name)
    pid = _read_pid(cluster.directory / "run" / f"{daemon}.pid")
    if pid is not None and _is_ours(pid, cluster.conf):
        raise DevClusterError(f"{daemon} of {cluster.directory} already runs (pid {pid})")
    return _start_daemon(cluster.directory, "ceph-mon", daemon, _Deadline(timeout))


def stop_mgr(cluster: DevCluster, *, kill: bool = False, timeout: float = 30.0) -> int:
    """Stops the mgr (SIGTERM, or SIGKILL with `kill`); returns its pid once it is gone.

    The mon marks it failed only after mgr_beacon_grace; `ceph mgr fail NAME` tells it at
    once. `start_mgr` brings it back.
    """
    sig = signal.SIGKILL if kill else signal.SIGTERM
    return _stop_daemon(cluster.directory, f"mgr.{cluster.mgr_name}", sig, _Deadline(timeout))


def start_mgr(cluster: DevCluster, *, timeout: float = 30.0) -> int:
    """Starts the mgr of a running cluster again, as `up` started it; returns its pid once
    the daemon runs (not once it is active)."""
    daemon = f"mgr.{cluster.mgr_name}"
    pid = _read_pid(cluster.directory / "run" / f"{daemon}.pid")
    if pid is not None and _is_ours(pid, cluster.conf):
        raise DevClusterError(f"{daemon} of {cluster.directory} already runs (pid {pid})")
    env = _mgr_environment(cluster.directory)
    return _start_daemon(cluster.directory, "ceph-mgr", daemon, _Deadline(timeout), env=env)
