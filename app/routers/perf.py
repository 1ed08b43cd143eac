"""Routes of /perf/."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Response

from app.ceph import perf as perf_ceph
from app.ceph.perf import MAX_DAEMON_PATTERN_LENGTH
from app.deps import KeyDep, MapsDep, PerfCacheDep
from app.models.error import KEYED_ERRORS
from app.models.perf import PerfCounters
from app.routers.route import ResourceRouter, answered

router = ResourceRouter(prefix="/perf", tags=["perf"], responses=KEYED_ERRORS)


# exclude_unset: `nick` and `count` appear only on the counters that have one, as in the module.
@router.get(
    "",
    response_model=PerfCounters,
    response_model_exclude_unset=True,
    operation_id="get_perf_counters",
    summary="Get performance counters",
    description=(
        "List all the available performance counters.\n\n"
        "Each mon in quorum and each up OSD is asked for its `perf dump` (an OSD over "
        "`osd_command`, a mon by a targeted mon command), with its `perf schema` and `perf "
        "histogram schema`, cached per daemon until it restarts. Counters of priority 5 "
        "(useful) and up are shown, or from `mgr_stats_threshold` up when that is higher, as "
        "the mgr would have them. A daemon that cannot be asked is left out. MDS, rgw and "
        "rbd-mirror counters are not available out of the mgr. `?daemon=` narrows the "
        "daemons asked."
    ),
)
async def get_perf_counters(
    maps: MapsDep,
    cache: PerfCacheDep,
    _key: KeyDep,
    daemon: Annotated[
        str | None,
        Query(
            description=(
                "Regular expression matched at the start of the daemon name (`osd.1`, "
                f"`mon.a`), e.g. `osd` or `osd\\.(1|2)$`. RE2 syntax, at most "
                f"{MAX_DAEMON_PATTERN_LENGTH} characters."
            ),
            examples=["osd", "osd\\.(1|2)$"],
        ),
    ] = None,
    page: Annotated[
        str | None, Query(description="Accepted and ignored, as in the module.")
    ] = None,
) -> Response:
    return answered(await perf_ceph.get_perf_counters(maps, cache, daemon))
