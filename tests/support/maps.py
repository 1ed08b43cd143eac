"""Running a resource's read or write function on the cluster-state cache, for unit tests whose
Ceph client is a fake answering recorded JSON."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any, cast

import anyio

from app.ceph.client import CephClient
from app.ceph.maps import ClusterMaps
from app.ceph.state import Answer, open_cluster_state


def run_on_maps(ceph: Any, fn: Callable[..., Awaitable[Any]], *args: Any) -> Any:
    """`fn(maps, *args)` on a fresh cache over `ceph`; an Answer comes back parsed."""

    async def main() -> Any:
        async with open_cluster_state(max_age=60.0, stale_after=30.0) as state:
            return await fn(ClusterMaps(cast(CephClient, ceph), state), *args)

    result = anyio.run(main)
    return json.loads(result.body) if isinstance(result, Answer) else result
