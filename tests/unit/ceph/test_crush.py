"""The restful module's CRUSH rule walk, checked against recorded Ceph JSON and the module.

Samples `*.pacific_3osd.json` and `*.pacific_mixed.json` were recorded on a Ceph 16.2.15 dev
cluster: `osd crush dump` etc. with Ceph's CLI and, in the same state, the restful module's
own answers (`GET_*`). "mixed" adds a host-level rule on the hdd shadow tree (by_host), an
erasure-coded rule (ecpool), a choose_firstn host → choose_firstn osd rule (two_step) and a
pool on each, with osd.2 on a second host, down and out, and the pause, noup and noout flags.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import TypeAdapter

from app.ceph.crush import crush_rule_osds, shape_crush_rules
from app.models.crush import CrushRule
from tests.support import load_sample

SCENARIOS = ["pacific_3osd", "pacific_mixed"]


def typed_json(value: Any) -> str:
    """JSON text that tells 1 from 1.0 and ignores key order, to compare exact types."""
    return json.dumps(value, sort_keys=True)


def bucket(bucket_id: int, name: str, type_name: str, items: list[int]) -> dict[str, Any]:
    return {
        "id": bucket_id,
        "name": name,
        "type_name": type_name,
        "items": [{"id": i, "weight": 65536, "pos": n} for n, i in enumerate(items)],
    }


def rule(*steps: dict[str, Any], rule_id: int = 0) -> dict[str, Any]:
    return {"rule_id": rule_id, "rule_name": f"r{rule_id}", "type": 1, "steps": list(steps)}


def take(item: int) -> dict[str, Any]:
    return {"op": "take", "item": item, "item_name": str(item)}


def choose(op: str, type_name: str, num: int = 0) -> dict[str, Any]:
    return {"op": op, "num": num, "type": type_name}


EMIT = {"op": "emit"}

# root default(-1) ─ rack r1(-2) ─ host h1(-3): osd 0, 1
#                  │              └ host h2(-4): osd 2
#                  └ rack r2(-5) ─ host h3(-6): osd 3, 4
# plus a host h4(-7) with osd 5 that hangs off no root, and a class shadow root default~ssd(-8)
# holding only osd 4 (through h3~ssd(-9)).
TREE = [
    bucket(-1, "default", "root", [-2, -5]),
    bucket(-2, "r1", "rack", [-3, -4]),
    bucket(-3, "h1", "host", [0, 1]),
    bucket(-4, "h2", "host", [2]),
    bucket(-5, "r2", "rack", [-6]),
    bucket(-6, "h3", "host", [3, 4]),
    bucket(-7, "h4", "host", [5]),
    bucket(-8, "default~ssd", "root", [-9]),
    bucket(-9, "h3~ssd", "host", [4]),
]


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_rules_match_the_module_exactly(scenario: str) -> None:
    shaped = shape_crush_rules(load_sample(f"osd_crush_dump.{scenario}.json"))
    assert typed_json(shaped) == typed_json(load_sample(f"GET_crush_rule.{scenario}.json"))


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_model_passes_rules_through_unchanged(scenario: str) -> None:
    adapter = TypeAdapter(list[CrushRule])
    shaped = shape_crush_rules(load_sample(f"osd_crush_dump.{scenario}.json"))
    served = adapter.dump_python(adapter.validate_python(shaped), mode="json", by_alias=True)
    assert typed_json(served) == typed_json(load_sample(f"GET_crush_rule.{scenario}.json"))


def test_mixed_rules_osd_counts() -> None:
    counts = {
        r["rule_name"]: r["osd_count"]
        for r in shape_crush_rules(load_sample("osd_crush_dump.pacific_mixed.json"))
    }
    # ecpool is erasure-coded: chooseleaf_indep adds nothing to the module's walk.
    assert counts == {"replicated_rule": 3, "by_host": 3, "ecpool": 0, "two_step": 3}


def test_choose_firstn_osd_takes_every_osd_under_the_root() -> None:
    assert crush_rule_osds(rule(take(-1), choose("choose_firstn", "osd"), EMIT), TREE) == {
        0,
        1,
        2,
        3,
        4,
    }


def test_choose_firstn_host_then_osd_walks_each_host() -> None:
    steps = (take(-1), choose("choose_firstn", "host"), choose("choose_firstn", "osd", 1), EMIT)
    assert crush_rule_osds(rule(*steps), TREE) == {0, 1, 2, 3, 4}


def test_choose_firstn_on_buckets_then_emit_reaches_nothing() -> None:
    # The module's walk only counts OSDs; an emit on chosen hosts adds none (its quirk).
    assert crush_rule_osds(rule(take(-1), choose("choose_firstn", "host"), EMIT), TREE) == set()


def test_chooseleaf_firstn_takes_every_leaf_under_each_chosen_bucket() -> None:
    assert crush_rule_osds(rule(take(-1), choose("chooseleaf_firstn", "rack"), EMIT), TREE) == {
        0,
        1,
        2,
        3,
        4,
    }


def test_chooseleaf_firstn_osd_type_yields_the_osds() -> None:
    assert crush_rule_osds(rule(take(-3), choose("chooseleaf_firstn", "osd"), EMIT), TREE) == {
        0,
        1,
    }


def test_take_of_a_subtree_stays_inside_it() -> None:
    steps = (take(-5), choose("chooseleaf_firstn", "host"), EMIT)
    assert crush_rule_osds(rule(*steps), TREE) == {3, 4}


def test_take_of_a_class_shadow_root_sees_only_that_class() -> None:
    steps = (take(-8), choose("chooseleaf_firstn", "host"), EMIT)
    assert crush_rule_osds(rule(*steps), TREE) == {4}


def test_descendant_search_stops_at_the_first_bucket_of_the_type() -> None:
    # Choosing racks then leaves: the hosts below the racks are not picked as racks.
    steps = (take(-1), choose("choose_firstn", "rack"), choose("chooseleaf_firstn", "host"), EMIT)
    assert crush_rule_osds(rule(*steps), TREE) == {0, 1, 2, 3, 4}


def test_erasure_coded_rule_reaches_no_osd() -> None:
    steps = (
        {"op": "set_chooseleaf_tries", "num": 5},
        {"op": "set_choose_tries", "num": 100},
        take(-1),
        choose("chooseleaf_indep", "host"),
        EMIT,
    )
    assert crush_rule_osds(rule(*steps), TREE) == set()
    assert shape_crush_rules({"rules": [rule(*steps)], "buckets": TREE})[0]["osd_count"] == 0


def test_choose_indep_reaches_no_osd() -> None:
    assert crush_rule_osds(rule(take(-1), choose("choose_indep", "osd"), EMIT), TREE) == set()


def test_several_takes_add_up() -> None:
    steps = (
        take(-3),
        choose("chooseleaf_firstn", "osd"),
        EMIT,
        take(-7),
        choose("chooseleaf_firstn", "osd"),
        EMIT,
    )
    assert crush_rule_osds(rule(*steps), TREE) == {0, 1, 5}


def test_malformed_rules_do_not_crash() -> None:
    # The module raises (HTML 500) on these; an empty set is the honest answer.
    assert crush_rule_osds(rule(take(-1)), TREE) == set()
    assert crush_rule_osds(rule(take(-42), choose("choose_firstn", "osd"), EMIT), TREE) == set()
    assert crush_rule_osds(rule(), TREE) == set()
    assert crush_rule_osds(rule(take(3), EMIT), TREE) == {3}


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_rules_without_pacific_only_fields_get_pacifics_values_back(scenario: str) -> None:
    # Quincy and later dump rules without ruleset, min_size and max_size: the answer is the
    # one Pacific gave for the same rules.
    pacific = load_sample(f"osd_crush_dump.{scenario}.json")
    newer = load_sample(f"osd_crush_dump.{scenario}.json")
    for r in newer["rules"]:
        for key in ("ruleset", "min_size", "max_size"):
            del r[key]
    pools = load_sample(f"osd_dump.{scenario}.json")["pools"]
    assert typed_json(shape_crush_rules(newer, pools)) == typed_json(shape_crush_rules(pacific))


def test_shaping_does_not_modify_the_dump() -> None:
    crush = load_sample("osd_crush_dump.pacific_3osd.json")
    before = typed_json(crush)
    shape_crush_rules(crush)
    assert typed_json(crush) == before


# `osd crush dump` rules as Tentacle 20.2 prints them (no ruleset, min_size, max_size).
TENTACLE_REPLICATED = {
    "rule_id": 0,
    "rule_name": "replicated_rule",
    "type": 1,
    "steps": [
        {"op": "take", "item": -1, "item_name": "default"},
        {"op": "choose_firstn", "num": 0, "type": "osd"},
        {"op": "emit"},
    ],
}
TENTACLE_ERASURE = {
    "rule_id": 1,
    "rule_name": "ecpool",
    "type": 3,
    "steps": [
        {"op": "set_chooseleaf_tries", "num": 5},
        {"op": "take", "item": -1, "item_name": "default"},
        {"op": "choose_indep", "num": 0, "type": "osd"},
        {"op": "emit"},
    ],
}


def test_newer_releases_get_pacifics_rule_fields_back() -> None:
    crush = {"rules": [TENTACLE_REPLICATED, TENTACLE_ERASURE], "buckets": []}
    pools = [{"pool": 2, "crush_rule": 1, "size": 6}, {"pool": 1, "crush_rule": 0, "size": 3}]
    replicated, erasure = shape_crush_rules(crush, pools)
    # Pacific's values for the rules it made (compare the Pacific samples above).
    assert (replicated["ruleset"], replicated["min_size"], replicated["max_size"]) == (0, 1, 10)
    # An erasure-coded rule's max_size was the chunk count (k+m): its pool's size.
    assert (erasure["ruleset"], erasure["min_size"], erasure["max_size"]) == (1, 3, 6)
    assert TypeAdapter(list[CrushRule]).validate_python([replicated, erasure])


def test_an_erasure_rule_no_pool_uses_gets_pacifics_default_range() -> None:
    (erasure,) = shape_crush_rules({"rules": [TENTACLE_ERASURE], "buckets": []})
    assert (erasure["min_size"], erasure["max_size"]) == (3, 20)


def test_pacific_rules_keep_their_own_fields() -> None:
    rule = {**TENTACLE_ERASURE, "ruleset": 7, "min_size": 3, "max_size": 4}
    (shaped,) = shape_crush_rules({"rules": [rule], "buckets": []}, [{"crush_rule": 1, "size": 6}])
    assert (shaped["ruleset"], shaped["min_size"], shaped["max_size"]) == (7, 3, 4)
