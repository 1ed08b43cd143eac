"""Ceph calls and pure shaping for CRUSH rules: everything comes from `osd crush dump`.

The restful module does not place data like CRUSH does; it over-approximates a rule by the
set of OSDs the rule *could* pick (every candidate under each `take`). That set gives
/crush/rule its `osd_count` and /osd each OSD's `pools`, so it is reproduced here as is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from app.ceph.client import CephClient

Bucket = Mapping[str, Any]
Step = Mapping[str, Any]


async def crush_dump(ceph: CephClient) -> dict[str, Any]:
    """`osd crush dump`: one call gives both `rules` and `buckets` (shadow ~class ones too)."""
    dump: dict[str, Any] = await ceph.mon_json({"prefix": "osd crush dump"})
    return dump


def _leaf_ids(node_id: int, buckets_by_id: Mapping[int, Bucket]) -> set[int]:
    """Every OSD under `node_id` (or the OSD itself)."""
    if node_id >= 0:
        return {node_id}
    bucket = buckets_by_id.get(node_id)
    if bucket is None:
        return set()
    leaves: set[int] = set()
    for item in bucket.get("items", []):
        leaves |= _leaf_ids(item["id"], buckets_by_id)
    return leaves


def _descendants_of_type(
    bucket: Bucket, type_name: str, buckets_by_id: Mapping[int, Bucket]
) -> set[int]:
    """The nearest nodes of `type_name` under `bucket` (OSD ids when the type is `osd`).

    Like the module, the search stops at the first bucket of that type on each branch.
    """
    found: set[int] = set()
    for item in bucket.get("items", []):
        item_id: int = item["id"]
        if item_id >= 0:
            if type_name == "osd":
                found.add(item_id)
            continue
        child = buckets_by_id.get(item_id)
        if child is None:
            continue
        if child.get("type_name") == type_name:
            found.add(item_id)
        else:
            found |= _descendants_of_type(child, type_name, buckets_by_id)
    return found


def _osds_from(
    node_id: int, steps: Sequence[Step], buckets_by_id: Mapping[int, Bucket]
) -> set[int]:
    """OSDs the steps following a `take` (or a choose) can reach from `node_id`."""
    if node_id >= 0:
        return {node_id}
    bucket = buckets_by_id.get(node_id)
    # The module indexes steps[0] blindly; a rule that ends without emit reaches nothing.
    if bucket is None or not steps:
        return set()
    step, rest = steps[0], steps[1:]
    op = step.get("op")
    osds: set[int] = set()
    if op == "choose_firstn":
        for chosen in _descendants_of_type(bucket, step.get("type", ""), buckets_by_id):
            osds |= _osds_from(chosen, rest, buckets_by_id)
    elif op == "chooseleaf_firstn":
        # A chooseleaf ends at leaves: everything under each chosen bucket is a candidate.
        for chosen in _descendants_of_type(bucket, step.get("type", ""), buckets_by_id):
            osds |= _leaf_ids(chosen, buckets_by_id)
    # Every other op (`emit` on a bucket, `*_indep`, `set_*`) adds nothing, as in the
    # module: erasure-coded rules (chooseleaf_indep) therefore reach no OSD.
    return osds


def crush_rule_osds(rule: Mapping[str, Any], buckets: Sequence[Bucket]) -> set[int]:
    """The OSDs `rule` can place data on, by the restful module's walk over `buckets`."""
    buckets_by_id = {b["id"]: b for b in buckets}
    steps: Sequence[Step] = rule.get("steps", [])
    osds: set[int] = set()
    for index, step in enumerate(steps):
        if step.get("op") == "take":
            osds |= _osds_from(step["item"], steps[index + 1 :], buckets_by_id)
    return osds


def shape_crush_rules(crush: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The module's /crush/rule: each rule of the dump plus `osd_count`."""
    buckets: Sequence[Bucket] = crush.get("buckets", [])
    return [
        {**rule, "osd_count": len(crush_rule_osds(rule, buckets))}
        for rule in crush.get("rules", [])
    ]


async def list_crush_rules(ceph: CephClient) -> list[dict[str, Any]]:
    """Every CRUSH rule with the number of OSDs it can reach."""
    return shape_crush_rules(await crush_dump(ceph))
