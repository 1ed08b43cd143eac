"""Waiting for a new cluster to serve: every mon in quorum, every OSD up, the mgr available,
the PGs active+clean."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cli.dev_cluster.conf import MGR_NAME
from cli.dev_cluster.processes import _daemons_running
from cli.dev_cluster.tools import DevClusterError, _ceph, _Deadline, _with_log

_FIRST_POOL_GRACE = 10.0
_POLL = 0.25


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


def _wait_ready(directory: Path, mons: Sequence[str], osds: int, deadline: _Deadline) -> None:
    """Waits for every mon in quorum, every OSD up, the mgr available and the mgr's own pool
    active+clean.

    The mgr creates its pool (device_health_metrics on Pacific, .mgr later) just
    after it becomes available; waiting for it means tests never see the pool list
    or the PG states change under them. Should a release create no pool, the wait
    ends _FIRST_POOL_GRACE seconds after the rest is ready.
    """
    conf = directory / "ceph.conf"
    log_dir = directory / "log"
    daemons = [f"mon.{name}" for name in mons] + [f"mgr.{MGR_NAME}"]
    daemons += [f"osd.{i}" for i in range(osds)]
    quorum: list[str] = []
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
            quorum = [str(name) for name in status.get("quorum_names", [])]
            up = _num_up_osds(status)
            mgr_ok = bool(status.get("mgrmap", {}).get("available", False))
            num_pgs, clean, pgs = _pg_states(status)
        except DevClusterError:
            if time.monotonic() >= deadline.end:
                break
        except (ValueError, KeyError, TypeError, AttributeError):
            pass
        now = time.monotonic()
        if set(quorum) >= set(mons) and up >= osds and mgr_ok:
            ready_since = now if ready_since is None else ready_since
            if num_pgs > 0 and clean == num_pgs:
                return
            if num_pgs == 0 and now - ready_since >= _FIRST_POOL_GRACE:
                return
        if now + _POLL >= deadline.end:
            break
        time.sleep(_POLL)
    lagging = [log_dir / f"mon.{name}.log" for name in mons if name not in quorum]
    if not mgr_ok:
        lagging.append(log_dir / f"mgr.{MGR_NAME}.log")
    if up < osds or (num_pgs and clean < num_pgs):
        lagging += [log_dir / f"osd.{i}.log" for i in range(osds)]
    raise DevClusterError(
        _with_log(
            f"timed out after {deadline.seconds:g} s: "
            f"quorum {','.join(quorum) or 'none'} of {','.join(mons)}, {up}/{osds} OSDs up, "
            f"mgr {'available' if mgr_ok else 'not available'}, PGs: {pgs}",
            *lagging,
        )
    )
