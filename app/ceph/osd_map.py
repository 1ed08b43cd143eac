"""The OSD map (`osd dump`), read with what /osd, /pool, /crush/rule and /config/osd join to
it: `osd tree` at the same epoch, `osd crush dump` and `osd metadata`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.ceph.client import CephClient
from app.ceph.concurrency import gather


@dataclass(frozen=True)
class OsdMaps:
    """The four answers the OSD map's endpoints are built from."""

    dump: dict[str, Any]
    crush: dict[str, Any]
    tree: dict[str, Any]
    metadata: list[dict[str, Any]]

    @property
    def epoch(self) -> int:
        return int(self.dump.get("epoch", 0))


async def osd_dump(ceph: CephClient) -> dict[str, Any]:
    """The whole OSD map, as `ceph osd dump --format json` prints it."""
    dump: dict[str, Any] = await ceph.mon_json({"prefix": "osd dump"})
    return dump


async def osd_epoch(ceph: CephClient) -> int:
    """The OSD map's epoch, cheaply (`osd stat`: a few numbers, whatever the OSD count)."""
    stat: Any = await ceph.mon_json({"prefix": "osd stat"})
    return int(stat["epoch"])


async def read_osd_maps(ceph: CephClient) -> OsdMaps:
    """The four answers, read concurrently; `osd tree` at the epoch of `osd dump`.

    Pinning the tree to the dump's epoch keeps reweight consistent with up/in. The CRUSH map
    is part of the OSD map (a change to it is a new epoch), and an OSD's metadata changes when
    it boots, which is a new epoch too: all four are one version.
    """

    async def dump_then_tree() -> tuple[Any, Any]:
        dump = await osd_dump(ceph)
        return dump, await ceph.mon_json({"prefix": "osd tree", "epoch": dump["epoch"]})

    (dump, tree), crush, metadata = await gather(
        [
            dump_then_tree,
            lambda: ceph.mon_json({"prefix": "osd crush dump"}),
            lambda: ceph.mon_json({"prefix": "osd metadata"}),
        ]
    )
    return OsdMaps(dump=dump, crush=crush, tree=tree, metadata=metadata or [])
