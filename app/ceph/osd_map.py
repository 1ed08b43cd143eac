"""The OSD map (`osd dump`), read with what /osd, /pool, /crush/rule and /config/osd join to
it: `osd tree` at the same epoch, `osd crush dump` and `osd metadata`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import Any

from app.ceph.client import CephClient
from app.ceph.concurrency import gather


@dataclass(frozen=True)
class OsdMaps:
    """What the OSD map's endpoints are built from: `osd dump`, `osd crush dump`, the OSD
    ids `osd tree` has a node for (its reweights are the dump's weights: `placed_osds`) and
    `osd metadata`."""

    dump: dict[str, Any]
    crush: dict[str, Any]
    placed: frozenset[int]
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


def crush_version(dump: Mapping[str, Any]) -> Hashable:
    """What tells the CRUSH map of `dump` from another: its `crush_version`, which the mon
    adds one to with every new CRUSH map (OSDMap::apply_incremental); None when the release
    does not print it (then every dump counts as a new CRUSH map)."""
    return dump.get("crush_version")


def boots(dump: Mapping[str, Any]) -> Hashable:
    """What tells the OSDs' metadata of `dump` from another: the mon stores an OSD's metadata
    when it boots, in the epoch that sets its `up_from`, and drops it in the one removing
    the OSD (`osd rm`, `osd purge`: the id leaves the map or its uuid is zeroed)."""
    return tuple((o.get("osd"), o.get("uuid"), o.get("up_from")) for o in dump.get("osds", []))


async def read_osd_maps(ceph: CephClient, previous: OsdMaps | None = None) -> OsdMaps:
    """The four answers; `osd tree` at the epoch of `osd dump`; the CRUSH map, the tree and
    the OSDs' metadata asked again only when the dump says they changed since `previous`.

    The tree tells which OSDs the CRUSH map places (nodes, not `stray`): it changes with the
    CRUSH map alone, and is asked at the dump's epoch. The CRUSH map and the metadata cannot
    be asked at an epoch, so they are asked after the dump: what they answer is then at
    least as new as the dump. An older dump's CRUSH map and tree (metadata) are kept only
    when this dump has the same `crush_version` (`boots`): then no newer one was made since
    that older dump, after which they were asked. At 10,000 OSDs most epochs (up_thru,
    pg_temp, a weight...) then cost the mon one answer, `osd dump`, instead of four.
    """
    dump = await osd_dump(ceph)
    version = crush_version(dump)
    same_crush = (
        previous is not None and version is not None and crush_version(previous.dump) == version
    )
    same_boots = previous is not None and boots(previous.dump) == boots(dump)
    calls: list[Callable[[], Awaitable[Any]]] = []
    if not same_crush:
        calls.append(lambda: ceph.mon_json({"prefix": "osd tree", "epoch": dump["epoch"]}))
        calls.append(lambda: ceph.mon_json({"prefix": "osd crush dump"}))
    if not same_boots:
        calls.append(lambda: ceph.mon_json({"prefix": "osd metadata"}))
    answers = iter(await gather(calls))
    if previous is not None and same_crush:
        crush, placed = previous.crush, previous.placed
    else:
        placed = placed_osds(next(answers))
        crush = next(answers)
    metadata = previous.metadata if previous is not None and same_boots else next(answers) or []
    return OsdMaps(dump=dump, crush=crush, placed=placed, metadata=metadata)


def placed_osds(tree: Mapping[str, Any]) -> frozenset[int]:
    """The OSD ids `osd tree` lists as nodes: those the CRUSH map places under its roots (the
    others are `stray`). The module shows their tree reweight, which the mon prints from the
    OSD map weight as it prints the dump's `weight` (both OSDMap::get_weightf); the others
    get 0.0."""
    return frozenset(node["id"] for node in tree.get("nodes", []) if node.get("id", -1) >= 0)
