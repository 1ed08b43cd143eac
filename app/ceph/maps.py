"""The maps the read endpoints are built from: each a `CachedMap` of the cluster-state cache
(app/ceph/state.py), fetched by its resource module's Ceph calls.

- `osd` (/osd, /pool, /crush/rule, /config/osd, /perf): `osd dump`, `osd tree` at its epoch,
  `osd crush dump`, `osd metadata` (app/ceph/osd_map.py; the last two only when the dump says
  they changed); versioned by the OSD map epoch, which `osd stat` tells cheaply.
- `mon` (/mon, /perf): `quorum_status`, `mon metadata` (app/ceph/mon.py).
- `mgr_config` (/config/cluster): `config show` told to the active mgr (app/ceph/config.py).
- `daemons` (/server): every daemon's metadata and the service map (app/ceph/server.py).
- `stats_threshold` (/perf): the mgr's `mgr_stats_threshold` (app/ceph/perf.py).
- `perf <daemon>` (/perf): one daemon's counters (app/ceph/perf.py).
The last five are small and have no cheap version: they are fetched again once old.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable
from typing import Any, TypeVar

from app.ceph import config, mon, osd, osd_map, perf, server
from app.ceph.client import CephClient
from app.ceph.osd_map import OsdMaps
from app.ceph.state import CachedMap, ClusterState

T = TypeVar("T")


class ClusterMaps:
    """Every map of the cache, for one Ceph client; made by the lifespan."""

    def __init__(self, ceph: CephClient, state: ClusterState) -> None:
        self.ceph = ceph
        self.state = state

        async def fetch_osd() -> tuple[OsdMaps, Hashable]:
            # The last map known: its CRUSH map and OSD metadata serve again when unchanged.
            known = self.osd.snapshot
            maps = await osd_map.read_osd_maps(ceph, known.value if known else None)
            return maps, maps.epoch

        self.osd: CachedMap[OsdMaps] = state.add(
            CachedMap(
                "OSD map",
                fetch_osd,
                state,
                version=lambda: osd_map.osd_epoch(ceph),
                warm=osd.warm,
            )
        )
        self.mon: CachedMap[mon.MonMaps] = self._unversioned("monmap", mon.read_mon_maps)
        self.mgr_config: CachedMap[dict[str, str]] = self._unversioned(
            "mgr configuration", config.cluster_config
        )
        self.daemons: CachedMap[list[server.Daemon]] = self._unversioned(
            "daemon metadata", server.all_daemons
        )
        self.stats_threshold: CachedMap[int] = self._unversioned(
            "mgr_stats_threshold", perf.read_stats_threshold
        )

    def _unversioned(self, name: str, read: Callable[[CephClient], Awaitable[T]]) -> CachedMap[T]:
        async def fetch() -> tuple[T, None]:
            return await read(self.ceph), None

        return self.state.add(CachedMap(name, fetch, self.state))

    def perf(self, daemon: str, read: Callable[[], Awaitable[T]]) -> CachedMap[T]:
        """The cached counters of one daemon, made on first use."""
        name = f"perf {daemon}"
        cached: CachedMap[Any] | None = self.state.cached(name)
        if cached is None:

            async def fetch() -> tuple[T, None]:
                return await read(), None

            cached = self.state.add(CachedMap(name, fetch, self.state))
        return cached

    def forget_perf(self, keep: set[str]) -> None:
        """Drop the counters of daemons no longer in the maps: bounded by the cluster."""
        self.state.remove(lambda n: n.startswith("perf ") and n.removeprefix("perf ") not in keep)
