"""Routes of /perf/."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from app.ceph import perf as perf_ceph
from app.ceph.perf import MAX_DAEMON_PATTERN_LENGTH, PerfSchemaCache
from app.deps import CephDep, KeyDep
from app.models.perf import PerfCounters

router = APIRouter(prefix="/perf", tags=["perf"])


def get_perf_cache(request: Request) -> PerfSchemaCache:
    """The app's schema cache (lifespan state): schemas outlive requests."""
    cache: PerfSchemaCache = request.state.perf_cache
    return cache


PerfCacheDep = Annotated[PerfSchemaCache, Depends(get_perf_cache)]


# exclude_unset: `nick` and `count` appear only on the counters that have one, as in the module.
@router.get(
    "",
    response_model=PerfCounters,
    response_model_exclude_unset=True,
    operation_id="get_perf_counters",
)
async def get_perf_counters(
    ceph: CephDep,
    cache: PerfCacheDep,
    _key: KeyDep,
    daemon: Annotated[
        str | None,
        Query(
            description=(
                "Regular expression matched at the start of the daemon name (`osd.1`, "
                f"`mon.a`), e.g. `osd` or `osd\\.(1|2)$`. RE2 syntax, at most "
                f"{MAX_DAEMON_PATTERN_LENGTH} characters."
            )
        ),
    ] = None,
    page: Annotated[
        str | None, Query(description="Accepted and ignored, as in the module.")
    ] = None,
) -> dict[str, dict[str, dict[str, Any]]]:
    """List all the available performance counters."""
    return await perf_ceph.get_perf_counters(ceph, cache, daemon)
