"""Ceph calls and pure shaping for monitors.

/mon joins two mon commands the way the module joins the mgr's `mon_map`, `mon_status` and
mon metadata: `quorum_status` (the monmap and the quorum, one consistent snapshot, asked of
any mon without a target on every release) and `mon metadata` (the host name).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import TypeAdapter

from app.ceph.client import CephClient
from app.ceph.concurrency import gather
from app.ceph.shaping import find_or_404
from app.ceph.state import Answer, Reading, answer
from app.models.mon import Mon

if TYPE_CHECKING:
    from app.ceph.maps import ClusterMaps

MON_LIST = TypeAdapter(list[Mon])
MON = TypeAdapter(Mon)


def mon_hostnames(metadata: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """Mon name → host name from `mon metadata` (a list keyed by `name`).

    A mon whose metadata the mons do not hold yet is listed with its name only: no entry.
    """
    return {m["name"]: m["hostname"] for m in metadata if "name" in m and "hostname" in m}


def crush_location_text(location: Any) -> Any:
    """A mon's `crush_location` in Pacific's form, the text of a map: `{datacenter=dc1,host=h1}`.

    Tentacle (20) prints a list of `{"key": ..., "val": ...}` instead; clients written against
    the module read the text, so every release answers that.
    """
    if isinstance(location, list):
        pairs = [(str(e.get("key", "")), str(e.get("val", ""))) for e in location]
    elif isinstance(location, dict):
        pairs = [(str(k), str(v)) for k, v in location.items()]
    else:
        return location
    return "{" + ",".join(f"{k}={v}" for k, v in sorted(pairs)) + "}"


def shape_mons(
    quorum_status: Mapping[str, Any], metadata: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """The module's /mon: each monmap entry plus `in_quorum`, `leader` and `server`.

    `leader` is the module's rule, rank == quorum[0] (the lowest rank in quorum), not
    `quorum_leader_name`: the two can differ under the connectivity election strategy.
    """
    quorum: list[int] = list(quorum_status.get("quorum", []))
    first_in_quorum = quorum[0] if quorum else None
    hosts = mon_hostnames(metadata)
    shaped = []
    for mon in quorum_status.get("monmap", {}).get("mons", []):
        entry = dict(mon)
        if "crush_location" in entry:
            entry["crush_location"] = crush_location_text(entry["crush_location"])
        entry["in_quorum"] = mon["rank"] in quorum
        # The module crashes (HTML 500) on a mon without metadata; null says "unknown".
        entry["server"] = hosts.get(mon["name"])
        entry["leader"] = mon["rank"] == first_in_quorum
        shaped.append(entry)
    return shaped


def find_mon(mons: Sequence[dict[str, Any]], name: str) -> dict[str, Any]:
    """The entry of mon `name`; 404 with the module's message when there is none."""
    return find_or_404(mons, "name", name, f'Failed to identify the monitor node "{name}"')


@dataclass(frozen=True)
class MonMaps:
    """What /mon (and /perf, for the mons in quorum) is built from."""

    quorum_status: dict[str, Any]
    metadata: list[dict[str, Any]]


async def read_mon_maps(ceph: CephClient) -> MonMaps:
    quorum_status, metadata = await gather(
        [
            lambda: ceph.mon_json({"prefix": "quorum_status"}),
            lambda: ceph.mon_json({"prefix": "mon metadata"}),
        ]
    )
    return MonMaps(quorum_status=quorum_status, metadata=metadata or [])


def _mons(reading: Reading[MonMaps]) -> list[dict[str, Any]]:
    value = reading.value
    return reading.snapshot.derive("mons", lambda: shape_mons(value.quorum_status, value.metadata))


async def list_mons(maps: ClusterMaps) -> Answer:
    """Every mon, in monmap (rank) order."""
    reading = await maps.mon.get()
    return answer(reading, "mons", lambda: _mons(reading), MON_LIST, exclude_unset=True)


async def get_mon(maps: ClusterMaps, name: str) -> Answer:
    """One mon by name; 404 when there is none."""
    reading = await maps.mon.get()
    mon = find_mon(_mons(reading), name)
    return answer(reading, ("mon", name), lambda: mon, MON, exclude_unset=True)
