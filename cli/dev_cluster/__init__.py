"""Throwaway Ceph cluster for development and integration tests.

One or more mons (``a``, ``b``, ``c``...), each on a port pair of its own, one mgr (``x``)
and N memstore OSDs, all bound to 127.0.0.1 and keeping every file (config, keys, data,
sockets, logs, pid files) inside one directory, so that several clusters can run side by
side and ``down`` can remove one without leaving anything behind. Data lives in RAM
(memstore): nothing here is meant to survive a restart.

Only Ceph's own binaries are used (ceph-mon, ceph-mgr, ceph-osd, ceph, ceph-authtool,
monmaptool); the steps follow the order that works on Ceph 16 (Pacific) and later.
"""

from __future__ import annotations

# The parts, each importing only those above it:
#   tools.py      running Ceph's tools: deadlines, errors, log tails, `ceph --version`
#   conf.py       the directory's limits, ceph.conf, the mgr's PyO3 stand-ins
#   processes.py  which processes are ours; starting one daemon, stopping them all
#   state.py      DevCluster and cluster.json: load, status
#   bootstrap.py  making the mons, the mgr, each OSD and the pools
#   readiness.py  waiting for the quorum, OSDs up, the mgr available and the PGs active+clean
#   lifecycle.py  up, down, start_osd, stop_osd, stop_mon, start_mon, stop_mgr, start_mgr
#   command.py    `cephgw dev-cluster up|down|status`
from cli.dev_cluster.bootstrap import POOL_PG_NUM
from cli.dev_cluster.command import add_arguments, run
from cli.dev_cluster.conf import DEFAULT_DIR, MAX_MONS, MGR_NAME, MON_NAME, PYO3_PACKAGES
from cli.dev_cluster.lifecycle import (
    down,
    start_mgr,
    start_mon,
    start_osd,
    stop_mgr,
    stop_mon,
    stop_osd,
    up,
)

# Process helpers the tests reach for (tests/unit/cli, tests/integration/ceph/test_perf.py).
from cli.dev_cluster.processes import _cmdline as _cmdline
from cli.dev_cluster.processes import _is_ours as _is_ours
from cli.dev_cluster.processes import _read_pid as _read_pid
from cli.dev_cluster.processes import _same_root as _same_root
from cli.dev_cluster.processes import _signal_and_wait as _signal_and_wait
from cli.dev_cluster.state import DevCluster, load, status
from cli.dev_cluster.tools import (
    APT_PACKAGES,
    REQUIRED_BINARIES,
    DevClusterError,
    MissingCephBinaries,
    ceph_release,
)

__all__ = [
    "APT_PACKAGES",
    "DEFAULT_DIR",
    "MAX_MONS",
    "MGR_NAME",
    "MON_NAME",
    "POOL_PG_NUM",
    "PYO3_PACKAGES",
    "REQUIRED_BINARIES",
    "DevCluster",
    "DevClusterError",
    "MissingCephBinaries",
    "add_arguments",
    "ceph_release",
    "down",
    "load",
    "run",
    "start_mgr",
    "start_mon",
    "start_osd",
    "status",
    "stop_mgr",
    "stop_mon",
    "stop_osd",
    "up",
]
