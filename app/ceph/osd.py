"""Ceph calls and pure shaping for OSDs.

/osd joins four mon commands the way the module joins the mgr's maps: `osd dump` (the OSDs,
the pools), `osd crush dump` (which pools can reach each OSD), `osd tree` (which OSDs have a
reweight) and `osd metadata` (the host name). The writes (PATCH /osd/{id}, POST
/osd/{id}/command) are the module's mon commands, as waves of a job.
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, get_args

import pydantic_core
from pydantic import TypeAdapter

from app.ceph.crush import crush_rule_osds
from app.ceph.osd_map import OsdMaps
from app.ceph.shaping import as_float, find_or_404
from app.ceph.state import Answer, Reading, Snapshot, answer, render
from app.errors import BadRequest, Conflict, NotFound
from app.models.osd import Osd, OsdCommandName, OsdCommands

if TYPE_CHECKING:
    from app.ceph.maps import ClusterMaps

OSD_LIST = TypeAdapter(list[Osd])
OSD = TypeAdapter(Osd)
OSD_COMMANDS = TypeAdapter(OsdCommands)

# The commands the module lets a client run on an up OSD, as the body's schema lists them.
OSD_IMPLEMENTED_COMMANDS: tuple[str, ...] = get_args(OsdCommandName)


def valid_commands(osd: Mapping[str, Any]) -> list[str]:
    """The commands one may run on `osd`: all of them when it is up, none when down."""
    return list(OSD_IMPLEMENTED_COMMANDS) if osd.get("up") else []


def rule_fits_pool(rule: Mapping[str, Any], pool: Mapping[str, Any]) -> bool:
    """Whether `rule` is the one placing `pool`: same id, and the pool size in its range.

    Quincy (17) and later drop `min_size`/`max_size` from rules; a missing bound matches.
    """
    if rule.get("rule_id") != pool.get("crush_rule"):
        return False
    size = pool.get("size")
    if size is None:
        return True
    min_size = rule.get("min_size")
    max_size = rule.get("max_size")
    return (min_size is None or min_size <= size) and (max_size is None or size <= max_size)


def pool_osds(
    pool: Mapping[str, Any],
    rules: Sequence[Mapping[str, Any]],
    buckets: Sequence[Mapping[str, Any]],
) -> set[int]:
    """The OSDs `pool`'s rule can reach; empty when no rule fits (the module crashes there)."""
    osds: set[int] = set()
    for rule in rules:
        if rule_fits_pool(rule, pool):
            # The module keeps the last fitting rule; rule ids are unique, so there is one.
            osds = crush_rule_osds(rule, buckets)
    return osds


def osd_pools(dump: Mapping[str, Any], crush: Mapping[str, Any]) -> dict[int, list[int]]:
    """Each OSD id of the map → the ids of the pools that can reach it, in pool order."""
    pools_by_osd: dict[int, list[int]] = {osd["osd"]: [] for osd in dump.get("osds", [])}
    rules = crush.get("rules", [])
    buckets = crush.get("buckets", [])
    for pool in dump.get("pools", []):
        for osd_id in sorted(pool_osds(pool, rules, buckets)):
            # An OSD in the CRUSH map but not in the OSD map has no entry to show.
            if osd_id in pools_by_osd:
                pools_by_osd[osd_id].append(pool["pool"])
    return pools_by_osd


def reweight(osd: Mapping[str, Any], placed: Collection[int]) -> float:
    """The module's reweight: the dump's weight for an OSD the tree places (`placed_osds`),
    as a float; 0.0 for one with no node (only in the tree's `stray` list)."""
    if osd["osd"] not in placed:
        return 0.0
    return float(osd.get("weight", 0.0))


def hostnames(metadata: Sequence[Mapping[str, Any]]) -> dict[int, str]:
    """OSD id → host name from `osd metadata` (a list; the mgr keys it by str(id))."""
    return {m["id"]: m["hostname"] for m in metadata if "id" in m and "hostname" in m}


def shape_osd(
    osd: Mapping[str, Any], pools: list[int], reweight: float, server: str | None
) -> dict[str, Any]:
    """One `osd dump` OSD as the module shows it."""
    shaped = dict(osd)
    # C++ doubles: librados JSON prints an integral one as an int, the module as a float.
    for key in ("weight", "primary_affinity"):
        if key in shaped:
            shaped[key] = as_float(shaped[key])
    shaped["pools"] = pools
    shaped["server"] = server
    shaped["reweight"] = as_float(reweight)
    shaped["valid_commands"] = valid_commands(osd)
    return shaped


def shape_osds(
    dump: Mapping[str, Any],
    crush: Mapping[str, Any],
    placed: Collection[int],
    metadata: Sequence[Mapping[str, Any]],
) -> list[dict[str, Any]]:
    """The module's /osd from the four answers (`placed`: the tree's, `placed_osds`), OSDs in
    map order."""
    pools_by_osd = osd_pools(dump, crush)
    host_by_osd = hostnames(metadata)
    return [
        shape_osd(
            osd,
            pools_by_osd.get(osd["osd"], []),
            reweight(osd, placed),
            host_by_osd.get(osd["osd"]),
        )
        for osd in dump.get("osds", [])
    ]


def filter_by_pool(osds: list[dict[str, Any]], pool_id: int) -> list[dict[str, Any]]:
    """The OSDs pool `pool_id` can reach (none for an unknown pool)."""
    return [osd for osd in osds if pool_id in osd["pools"]]


def not_found(osd_id: int) -> NotFound:
    return NotFound(f'Failed to identify the OSD id "{osd_id}"')


def find_osd(osds: Sequence[Mapping[str, Any]], osd_id: int) -> Mapping[str, Any]:
    """The entry of `osd_id` in a list of OSDs (`osd dump` or shaped); 404 when absent."""
    return find_or_404(osds, "osd", osd_id, not_found(osd_id).message)


def shaped_osds(maps: OsdMaps) -> list[dict[str, Any]]:
    return shape_osds(maps.dump, maps.crush, maps.placed, maps.metadata)


def _osds(reading: Reading[OsdMaps]) -> list[dict[str, Any]]:
    """The module's /osd of a snapshot, shaped once."""
    return _shaped(reading.snapshot)


def _shaped(snapshot: Snapshot[OsdMaps]) -> list[dict[str, Any]]:
    return snapshot.derive("osds", lambda: shaped_osds(snapshot.value))


def _whole_list(snapshot: Snapshot[OsdMaps]) -> bytes:
    """GET /osd's body of a snapshot, rendered once."""
    return snapshot.derive(
        ("answer", "osds"), lambda: render_osds(_shaped(snapshot), snapshot.memo)
    )


def warm(snapshot: Snapshot[OsdMaps], previous: Snapshot[OsdMaps] | None) -> None:
    """Once a new OSD map is served: GET /osd's body, when the previous map's was asked. A
    read of /osd made while the cache refreshed ahead then finds it made."""
    if previous is not None and ("answer", "osds") in previous.derived:
        _whole_list(snapshot)


def _osd(reading: Reading[OsdMaps], osd_id: int) -> Mapping[str, Any]:
    by_id = reading.snapshot.derive("osd by id", lambda: {o["osd"]: o for o in _osds(reading)})
    if osd_id not in by_id:
        raise not_found(osd_id)
    return by_id[osd_id]


def render_osds(
    osds: Sequence[Mapping[str, Any]], memo: dict[Hashable, Any], *, keep: bool = True
) -> bytes:
    """`render(OSD_LIST, osds)`, each OSD validated and serialized only when it differs from
    every OSD of the last render (`memo`, shared by the OSD map's snapshots).

    At 10,000 OSDs validating the whole list took ~300 ms of the event loop at every epoch,
    when an epoch changes a few OSDs. An OSD's plain JSON (pydantic_core's, ~10 times
    cheaper than validating) tells whether it changed; pydantic's list JSON is its items'
    JSON joined by commas, so the body is the same bytes. `keep`: remember this render's
    OSDs for the next (the whole list; a pool's share reuses it).
    """
    last: dict[bytes, bytes] = memo.get("osd json", {})
    kept: dict[bytes, bytes] = {}
    parts: list[bytes] = []
    for osd in osds:
        plain = pydantic_core.to_json(osd)
        body = kept.get(plain) or last.get(plain)
        if body is None:
            body = render(OSD, osd)
        kept[plain] = body
        parts.append(body)
    if keep:  # the whole list's OSDs only: bounded by the map, whatever `?pool=` is asked
        memo["osd json"] = kept
    return b"[" + b",".join(parts) + b"]"


async def list_osds(maps: ClusterMaps, pool_id: int | None = None) -> Answer:
    """Every OSD in map order; with `pool_id`, only those that pool can reach."""
    reading = await maps.osd.get()
    snapshot = reading.snapshot
    if pool_id is None:
        body = _whole_list(snapshot)
    else:
        body = snapshot.derive(
            ("answer", ("osds of", pool_id)),
            lambda: render_osds(
                filter_by_pool(_shaped(snapshot), pool_id), snapshot.memo, keep=False
            ),
        )
    return Answer(body, reading.age, reading.stale)


async def get_osd(maps: ClusterMaps, osd_id: int) -> Answer:
    """One OSD by id; 404 when there is none."""
    reading = await maps.osd.get()
    osd = _osd(reading, osd_id)
    return answer(reading, ("osd", osd_id), lambda: osd, OSD)


async def list_osd_commands(maps: ClusterMaps, osd_id: int) -> Answer:
    """The commands one may run on the OSD now."""
    reading = await maps.osd.get()
    osd = _osd(reading, osd_id)
    return answer(reading, ("commands", osd_id), lambda: valid_commands(osd), OSD_COMMANDS)


# -- writes: the module's commands, as waves of a job ------------------------------------------


def update_commands(
    osd_id: int, *, in_: bool | None = None, up: bool | None = None, reweight: float | None = None
) -> list[list[dict[str, Any]]]:
    """PATCH /osd/{id}: `osd in`/`osd out` and `osd down` in a first wave, `osd reweight` in a
    second. 400 for `up: true` (only the OSD itself can come up) and for `in: false` with a
    reweight (they contradict: out is weight 0).

    `osd in`/`out` and `osd reweight` set the same OSD map weight (out is 0, in is 1): the
    module sent them at once and the mon kept whichever it applied last; here the reweight
    follows the `osd in`.
    """
    if up:
        raise BadRequest("It is not valid to set a down OSD to be up")
    if in_ is False and reweight is not None:
        raise BadRequest(
            "It is not valid to mark an OSD out and reweight it: out sets its weight to 0"
        )
    ids = [str(osd_id)]
    first: list[dict[str, Any]] = []
    if in_ is not None:
        first.append({"prefix": "osd in" if in_ else "osd out", "ids": ids})
    if up is not None:
        first.append({"prefix": "osd down", "ids": ids})
    second: list[dict[str, Any]] = []
    if reweight is not None:
        # The mon wants a float: Pacific refuses `1` ("bad or missing field 'weight'").
        second.append({"prefix": "osd reweight", "id": osd_id, "weight": float(reweight)})
    return [first, second]


def command_commands(osd: Mapping[str, Any], command: str) -> list[list[dict[str, Any]]]:
    """POST /osd/{id}/command: `osd scrub|deep-scrub|repair who=<id>`; 409 when the OSD is
    not up (the module: 500), 400 for a command it does not implement."""
    if command not in OSD_IMPLEMENTED_COMMANDS:
        raise BadRequest(f'Command "{command}" not available')
    if not osd.get("up"):
        raise Conflict(f'Command "{command}" not available: osd.{osd["osd"]} is not up')
    return [[{"prefix": f"osd {command}", "who": str(osd["osd"])}]]


async def update_waves(
    maps: ClusterMaps, osd_id: int, changes: Mapping[str, Any]
) -> list[list[dict[str, Any]]]:
    """The wave changing OSD `osd_id` (`changes`: in, up, reweight); 400 for `up: true`,
    404 when there is no such OSD."""
    waves = update_commands(
        osd_id, in_=changes.get("in"), up=changes.get("up"), reweight=changes.get("reweight")
    )
    find_osd((await maps.osd.get(fresh=True)).value.dump.get("osds", []), osd_id)
    return waves


async def command_waves(maps: ClusterMaps, osd_id: int, command: str) -> list[list[dict[str, Any]]]:
    """The wave running `command` on OSD `osd_id`; 404 when there is none, 409 when down."""
    osd = find_osd((await maps.osd.get(fresh=True)).value.dump.get("osds", []), osd_id)
    return command_commands(osd, command)
