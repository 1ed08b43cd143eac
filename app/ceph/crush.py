"""CRUSH rules: everything comes from the OSD map's `osd crush dump` (app/ceph/osd_map.py).

The restful module does not place data like CRUSH does; it over-approximates a rule by the
set of OSDs the rule *could* pick (every candidate under each `take`). That set gives
/crush/rule its `osd_count` and /osd each OSD's `pools`, so it is reproduced here as is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pydantic import TypeAdapter

from app.ceph.state import Answer, answer
from app.models.crush import CrushRule

if TYPE_CHECKING:
    from app.ceph.maps import ClusterMaps

CRUSH_RULE_LIST = TypeAdapter(list[CrushRule])

Bucket = Mapping[str, Any]
Step = Mapping[str, Any]


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


# Pacific's rules carry `ruleset`, `min_size` and `max_size`; Quincy (17) dropped them from
# `osd crush dump`. Clients written against the module read them, so they are put back with
# the values Pacific gave every rule it made: `ruleset` = the rule id, and the size range of
# CrushWrapper::add_simple_rule_at by the rule's type (an erasure-coded pool's rule then had
# its max_size set to the pool's chunk count, k+m, which is the pool's size).
REPLICATED_RULE, ERASURE_RULE = 1, 3
PACIFIC_SIZE_RANGE = {REPLICATED_RULE: (1, 10), ERASURE_RULE: (3, 20)}


def needs_pool_sizes(crush: Mapping[str, Any]) -> bool:
    """Whether an erasure-coded rule lacks `max_size`, which the pools using it tell."""
    return any(
        r.get("type") == ERASURE_RULE and "max_size" not in r for r in crush.get("rules", [])
    )


def with_pacific_fields(
    rule: Mapping[str, Any], pool_sizes: Mapping[int, Sequence[int]]
) -> dict[str, Any]:
    """`rule` with Pacific's `ruleset`, `min_size` and `max_size` where the release lacks them.

    `pool_sizes` maps a rule id to the sizes of the pools that use it.
    """
    shaped = dict(rule)
    rule_id = int(rule.get("rule_id", 0))
    low, high = PACIFIC_SIZE_RANGE.get(int(rule.get("type", REPLICATED_RULE)), (1, 10))
    if rule.get("type") == ERASURE_RULE and pool_sizes.get(rule_id):
        high = max(pool_sizes[rule_id])
    shaped.setdefault("ruleset", rule_id)
    shaped.setdefault("min_size", low)
    shaped.setdefault("max_size", high)
    return shaped


def shape_crush_rules(
    crush: Mapping[str, Any], pools: Sequence[Mapping[str, Any]] = ()
) -> list[dict[str, Any]]:
    """The module's /crush/rule: each rule of the dump (with Pacific's fields) plus
    `osd_count`. `pools` (the OSD map's) is needed only when `needs_pool_sizes`."""
    buckets: Sequence[Bucket] = crush.get("buckets", [])
    pool_sizes: dict[int, list[int]] = {}
    for pool in pools:
        pool_sizes.setdefault(int(pool["crush_rule"]), []).append(int(pool["size"]))
    return [
        {**with_pacific_fields(rule, pool_sizes), "osd_count": len(crush_rule_osds(rule, buckets))}
        for rule in crush.get("rules", [])
    ]


async def list_crush_rules(maps: ClusterMaps) -> Answer:
    """Every CRUSH rule with the number of OSDs it can reach."""
    reading = await maps.osd.get()
    osd_maps = reading.value
    return answer(
        reading,
        "crush rules",
        lambda: shape_crush_rules(osd_maps.crush, osd_maps.dump.get("pools", [])),
        CRUSH_RULE_LIST,
    )
