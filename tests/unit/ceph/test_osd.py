"""Shaping of /osd from recorded Ceph JSON, compared with the module's answers in that state.

The samples are described in test_crush.py. In the "mixed" one osd.1 has reweight 0.85 and
primary affinity 0.5, and osd.2 is down and out (weight and reweight 0).
"""

from __future__ import annotations

import copy
import errno
import json
from collections.abc import Mapping
from typing import Any, cast

import anyio
import anyio.lowlevel
import pytest
from pydantic import TypeAdapter, ValidationError

from app.ceph import osd as osd_ceph
from app.ceph.client import CephClient
from app.ceph.maps import ClusterMaps
from app.ceph.osd import (
    OSD_LIST,
    filter_by_pool,
    find_osd,
    hostnames,
    osd_pools,
    pool_osds,
    render_osds,
    rule_fits_pool,
    shape_osd,
    shape_osds,
    valid_commands,
)
from app.ceph.osd_map import OsdMaps, placed_osds, read_osd_maps
from app.ceph.state import open_cluster_state, render
from app.errors import BadRequest, CephError, Conflict, NotFound
from app.models.osd import Osd, OsdCommand, OsdUpdate
from tests.support import load_sample
from tests.support.maps import run_on_maps

SCENARIOS = ["pacific_3osd", "pacific_mixed"]
ALL_COMMANDS = ["scrub", "deep-scrub", "repair"]


def typed_json(value: Any) -> str:
    """JSON text that tells 1 from 1.0 and ignores key order, to compare exact types."""
    return json.dumps(value, sort_keys=True)


def recorded(scenario: str) -> tuple[Any, Any, Any, Any]:
    return (
        load_sample(f"osd_dump.{scenario}.json"),
        load_sample(f"osd_crush_dump.{scenario}.json"),
        placed_osds(load_sample(f"osd_tree.{scenario}.json")),
        load_sample(f"osd_metadata.{scenario}.json"),
    )


def served(osds: list[dict[str, Any]]) -> Any:
    """What FastAPI sends for `osds` with response_model=list[Osd]."""
    adapter = TypeAdapter(list[Osd])
    return adapter.dump_python(adapter.validate_python(osds), mode="json", by_alias=True)


# -- against the module ------------------------------------------------------------------------


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_osds_match_the_module_exactly(scenario: str) -> None:
    osds = shape_osds(*recorded(scenario))
    assert typed_json(osds) == typed_json(load_sample(f"GET_osd.{scenario}.json"))
    # The response model must not coerce anything (int up/in, float weights, null server).
    assert typed_json(served(osds)) == typed_json(load_sample(f"GET_osd.{scenario}.json"))


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_one_osd_matches_the_module(scenario: str) -> None:
    osds = shape_osds(*recorded(scenario))
    assert typed_json(find_osd(osds, 0)) == typed_json(load_sample(f"GET_osd_0.{scenario}.json"))


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_pool_filter_matches_the_module(scenario: str) -> None:
    osds = filter_by_pool(shape_osds(*recorded(scenario)), 1)
    assert typed_json(osds) == typed_json(load_sample(f"GET_osd_query_pool_1.{scenario}.json"))


def test_mixed_scenario_facts() -> None:
    by_id = {o["osd"]: o for o in shape_osds(*recorded("pacific_mixed"))}
    # Pools 1 (replicated_rule), 3 (by_host) and 4 (two_step) reach every OSD; pool 2 is the
    # erasure-coded one, whose rule the module's walk never resolves.
    assert [by_id[i]["pools"] for i in (0, 1, 2)] == [[1, 3, 4]] * 3
    assert by_id[1]["reweight"] == pytest.approx(0.85, abs=1e-4)
    assert by_id[1]["primary_affinity"] == 0.5
    assert (by_id[2]["up"], by_id[2]["in"], by_id[2]["weight"], by_id[2]["reweight"]) == (
        0,
        0,
        0.0,
        0.0,
    )
    assert isinstance(by_id[2]["reweight"], float)
    assert by_id[2]["valid_commands"] == []
    assert by_id[0]["valid_commands"] == ALL_COMMANDS


def test_raw_dump_has_the_int_typed_doubles_we_fix() -> None:
    # Guards the premise of the float forcing: librados prints an integral double as `1`.
    dump = load_sample("osd_dump.pacific_3osd.json")
    assert isinstance(dump["osds"][0]["weight"], int)
    assert isinstance(load_sample("osd_tree.pacific_3osd.json")["nodes"][-1]["reweight"], int)
    shaped = shape_osds(*recorded("pacific_3osd"))[0]
    for key in ("weight", "primary_affinity", "reweight"):
        assert isinstance(shaped[key], float), key
    for key in ("osd", "up", "in", "up_from"):
        assert type(shaped[key]) is int, key


# -- pieces ------------------------------------------------------------------------------------


def test_valid_commands() -> None:
    assert valid_commands({"up": 1}) == ALL_COMMANDS
    assert valid_commands({"up": 0}) == []
    # A fresh list each time: a caller mutating it must not change the next answer.
    valid_commands({"up": 1}).append("x")
    assert valid_commands({"up": 1}) == ALL_COMMANDS


POOL = {"pool": 1, "crush_rule": 0, "size": 3}


def test_rule_fits_pool_by_id_and_size_range() -> None:
    assert rule_fits_pool({"rule_id": 0, "min_size": 1, "max_size": 10}, POOL)
    assert rule_fits_pool({"rule_id": 0, "min_size": 3, "max_size": 3}, POOL)
    assert not rule_fits_pool({"rule_id": 1, "min_size": 1, "max_size": 10}, POOL)
    assert not rule_fits_pool({"rule_id": 0, "min_size": 4, "max_size": 10}, POOL)
    assert not rule_fits_pool({"rule_id": 0, "min_size": 1, "max_size": 2}, POOL)


def test_rule_fits_pool_without_size_bounds() -> None:
    # Quincy and later rules carry no min_size/max_size: any size fits.
    assert rule_fits_pool({"rule_id": 0}, POOL)
    assert rule_fits_pool({"rule_id": 0, "max_size": 10}, POOL)
    assert not rule_fits_pool({"rule_id": 0, "min_size": 4}, POOL)


def test_pool_without_a_fitting_rule_reaches_no_osd() -> None:
    crush = load_sample("osd_crush_dump.pacific_3osd.json")
    too_big = {"pool": 7, "crush_rule": 0, "size": 11}
    assert pool_osds(too_big, crush["rules"], crush["buckets"]) == set()
    unknown_rule = {"pool": 8, "crush_rule": 42, "size": 1}
    assert pool_osds(unknown_rule, crush["rules"], crush["buckets"]) == set()


def test_osd_pools_tolerates_a_pool_without_rule() -> None:
    # The module crashes (HTML 500 on every /osd route); we leave the pool out.
    dump, crush, _, _ = recorded("pacific_3osd")
    dump["pools"].append({"pool": 9, "crush_rule": 42, "size": 1})
    assert osd_pools(dump, crush) == {0: [1], 1: [1], 2: [1]}


def test_osd_pools_in_pool_order_and_only_for_osds_in_the_map() -> None:
    dump, crush, _, _ = recorded("pacific_mixed")
    dump["osds"] = [o for o in dump["osds"] if o["osd"] != 1]
    assert osd_pools(dump, crush) == {0: [1, 3, 4], 2: [1, 3, 4]}


def test_osd_pools_is_the_same_without_pacific_rule_fields() -> None:
    dump, crush, _, _ = recorded("pacific_mixed")
    quincy = copy.deepcopy(crush)
    for r in quincy["rules"]:
        for key in ("ruleset", "min_size", "max_size"):
            r.pop(key)
    assert osd_pools(dump, quincy) == osd_pools(dump, crush)


def test_placed_osds_skip_buckets_and_stray() -> None:
    tree = {
        "nodes": [
            {"id": -1, "type": "root", "children": [0, 1]},
            {"id": 0, "reweight": 1},
            {"id": 1, "reweight": 0.84999084472656250},
        ],
        "stray": [{"id": 2, "reweight": 1}],
    }
    assert placed_osds(tree) == {0, 1}


@pytest.mark.parametrize("scenario", ["pacific_3osd", "pacific_mixed"])
def test_reweights_are_the_tree_nodes_reweights_as_floats(scenario: str) -> None:
    # The premise of reading them from the dump: the mon prints both from the same weight.
    tree = load_sample(f"osd_tree.{scenario}.json")
    nodes = {n["id"]: float(n["reweight"]) for n in tree["nodes"] if n["id"] >= 0}
    shaped = {o["osd"]: o["reweight"] for o in shape_osds(*recorded(scenario))}
    assert shaped == nodes
    assert all(type(v) is float for v in shaped.values())


def test_osd_only_in_stray_gets_reweight_zero() -> None:
    dump, crush, _, metadata = recorded("pacific_3osd")
    tree = load_sample("osd_tree.pacific_3osd.json")
    tree["nodes"] = [n for n in tree["nodes"] if n["id"] != 2]
    tree["stray"] = [{"id": 2, "reweight": 1}]
    osd2 = find_osd(shape_osds(dump, crush, placed_osds(tree), metadata), 2)
    assert osd2["reweight"] == 0.0
    assert isinstance(osd2["reweight"], float)


def test_hostnames_by_int_id() -> None:
    metadata = load_sample("osd_metadata.pacific_3osd.json")
    assert hostnames(metadata) == {m["id"]: m["hostname"] for m in metadata}
    assert hostnames([{"id": 3}, {"hostname": "x"}]) == {}


def test_osd_without_metadata_has_null_server() -> None:
    dump, crush, tree, metadata = recorded("pacific_3osd")
    metadata = [m for m in metadata if m["id"] != 1]
    osds = served(shape_osds(dump, crush, tree, metadata))
    assert [o["server"] for o in osds][1] is None
    assert "server" in osds[1]


def test_shape_osd_forces_doubles_and_keeps_other_fields() -> None:
    osd = {"osd": 5, "up": 0, "in": 1, "weight": 0, "primary_affinity": 1, "uuid": "u"}
    shaped = shape_osd(osd, [2], 1, "host")
    assert typed_json(shaped) == typed_json(
        {
            "osd": 5,
            "up": 0,
            "in": 1,
            "weight": 0.0,
            "primary_affinity": 1.0,
            "uuid": "u",
            "pools": [2],
            "server": "host",
            "reweight": 1.0,
            "valid_commands": [],
        }
    )
    # The recorded input is left alone.
    assert type(osd["weight"]) is int


def test_filter_by_pool_zero_and_unknown() -> None:
    osds = [{"osd": 0, "pools": [0, 1]}, {"osd": 1, "pools": [1]}]
    assert filter_by_pool(osds, 0) == [osds[0]]
    assert filter_by_pool(osds, 1) == osds
    assert filter_by_pool(osds, 99) == []


def test_find_osd_unknown_is_404_with_the_module_message() -> None:
    with pytest.raises(NotFound) as caught:
        find_osd([{"osd": 0}], 7)
    assert caught.value.status_code == 404
    assert caught.value.message == 'Failed to identify the OSD id "7"'


# -- the Ceph calls, with a fake client --------------------------------------------------------


class FakeCeph:
    """Answers mon commands from recorded JSON and records what was asked."""

    def __init__(self, scenario: str, fail: str | None = None) -> None:
        dump, crush, _, metadata = recorded(scenario)
        tree = load_sample(f"osd_tree.{scenario}.json")
        self.answers: dict[str, Any] = {
            "osd stat": {"epoch": dump["epoch"]},
            "osd dump": dump,
            "osd crush dump": crush,
            "osd tree": tree,
            "osd metadata": metadata,
        }
        self.fail = fail
        self.asked: list[dict[str, Any]] = []

    async def mon_json(self, command: Mapping[str, Any], target: str | None = None) -> Any:
        self.asked.append(dict(command))
        # Yield, so the concurrent reads really interleave.
        await anyio.lowlevel.checkpoint()
        prefix = command["prefix"]
        if prefix == self.fail:
            raise CephError(errno.ETIMEDOUT, "timed out", prefix)
        return copy.deepcopy(self.answers[prefix])


def run_with(fake: FakeCeph, fn: Any, *args: Any) -> Any:
    """`fn` on a cache of its own over `fake`: each call starts with nothing cached."""
    return run_on_maps(fake, fn, *args)


def test_list_osds_asks_four_commands_with_the_dump_epoch() -> None:
    fake = FakeCeph("pacific_mixed")
    osds = run_with(fake, osd_ceph.list_osds)
    assert typed_json(osds) == typed_json(load_sample("GET_osd.pacific_mixed.json"))
    assert sorted(c["prefix"] for c in fake.asked) == [
        "osd crush dump",
        "osd dump",
        "osd metadata",
        "osd tree",
    ]
    tree_command = next(c for c in fake.asked if c["prefix"] == "osd tree")
    assert tree_command["epoch"] == fake.answers["osd dump"]["epoch"]
    asked_order = [c["prefix"] for c in fake.asked]
    assert asked_order.index("osd dump") < asked_order.index("osd tree")


def test_list_osds_with_pool_filter() -> None:
    assert [o["osd"] for o in run_with(FakeCeph("pacific_mixed"), osd_ceph.list_osds, 3)] == [
        0,
        1,
        2,
    ]
    assert run_with(FakeCeph("pacific_mixed"), osd_ceph.list_osds, 2) == []
    assert run_with(FakeCeph("pacific_mixed"), osd_ceph.list_osds, 0) == []


@pytest.mark.parametrize("scenario", ["pacific_3osd", "pacific_mixed"])
def test_osds_rendered_one_by_one_are_the_list_rendered_whole(scenario: str) -> None:
    osds = shape_osds(*recorded(scenario))
    memo: dict[Any, Any] = {}
    assert render_osds(osds, memo) == render(OSD_LIST, osds)
    assert render_osds([], {}) == render(OSD_LIST, []) == b"[]"


def test_rendering_again_validates_only_the_osds_that_changed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    osds = shape_osds(*recorded("pacific_mixed"))
    memo: dict[Any, Any] = {}
    render_osds(osds, memo)
    validated: list[Any] = []
    real_render = render

    def counting(adapter: Any, value: Any, **kwargs: Any) -> bytes:
        validated.append(value["osd"])
        return real_render(adapter, value, **kwargs)

    monkeypatch.setattr(osd_ceph, "render", counting)
    changed = [dict(o) for o in osds]
    changed[1]["weight"] = 0.5
    body = render_osds(changed, memo)
    assert validated == [changed[1]["osd"]]
    assert body == real_render(OSD_LIST, changed)
    # A pool's share reuses the whole list's renders and leaves them as they are.
    assert render_osds(changed[:1], memo, keep=False) == real_render(OSD_LIST, changed[:1])
    assert len(memo["osd json"]) == len(changed)


def _warmth(fake: FakeCeph, ask: Any) -> tuple[bool, bool]:
    """`ask(maps)`, then a new epoch: whether its snapshot came with GET /osd's body made,
    and whether it came at all (a refresh that failed would keep the old one)."""

    async def main() -> tuple[bool, bool]:
        async with open_cluster_state(max_age=60.0, stale_after=30.0) as state:
            maps = ClusterMaps(cast(CephClient, fake), state)
            await ask(maps)
            fake.answers["osd dump"]["epoch"] += 1
            fake.answers["osd stat"]["epoch"] += 1
            maps.osd.invalidate()
            reading = await maps.osd.get()
            await anyio.wait_all_tasks_blocked()  # the warm-up follows the waiting reads
            warm = ("answer", "osds") in reading.snapshot.derived
            return warm, reading.value.epoch == fake.answers["osd dump"]["epoch"]

    return anyio.run(main)


def test_a_new_map_comes_with_get_osd_made_when_the_last_one_was_asked() -> None:
    assert _warmth(FakeCeph("pacific_mixed"), osd_ceph.list_osds) == (True, True)
    # Not when only other answers were asked of it: nobody may ask /osd.
    assert _warmth(FakeCeph("pacific_mixed"), lambda m: osd_ceph.get_osd(m, 0)) == (False, True)


def test_a_failing_warm_up_still_serves_the_new_map(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeCeph("pacific_mixed")

    async def ask_then_break(maps: ClusterMaps) -> None:
        await osd_ceph.list_osds(maps)

        def broken(*args: Any, **kwargs: Any) -> bytes:
            raise ValueError("no")

        monkeypatch.setattr(osd_ceph, "render_osds", broken)

    assert _warmth(fake, ask_then_break) == (False, True)


def _reread(fake: FakeCeph, change: Any = None) -> tuple[OsdMaps, list[str]]:
    """The maps read once, then again after `change(dump)` made a new epoch: the second
    read's maps and the commands it asked."""

    async def main() -> tuple[OsdMaps, list[str]]:
        ceph: Any = fake
        first = await read_osd_maps(ceph)
        dump = fake.answers["osd dump"]
        dump["epoch"] += 1
        if change is not None:
            change(dump)
        fake.asked.clear()
        return await read_osd_maps(ceph, first), [c["prefix"] for c in fake.asked]

    return anyio.run(main)


def test_a_new_epoch_keeps_the_crush_map_and_metadata_it_did_not_change() -> None:
    fake = FakeCeph("pacific_mixed")
    maps, asked = _reread(fake)
    assert asked == ["osd dump"]
    assert maps.crush == fake.answers["osd crush dump"]
    assert maps.placed == placed_osds(fake.answers["osd tree"])
    assert maps.metadata == fake.answers["osd metadata"]


def test_a_new_crush_version_asks_the_crush_map_and_tree_again() -> None:
    fake = FakeCeph("pacific_mixed")

    def new_crush(dump: dict[str, Any]) -> None:
        dump["crush_version"] += 1
        fake.answers["osd crush dump"]["rules"] = []
        fake.answers["osd tree"]["nodes"] = []

    maps, asked = _reread(fake, new_crush)
    assert sorted(asked) == ["osd crush dump", "osd dump", "osd tree"]
    assert maps.crush["rules"] == []
    assert maps.placed == frozenset()


def test_a_dump_without_crush_version_always_asks_the_crush_map() -> None:
    fake = FakeCeph("pacific_mixed")
    fake.answers["osd dump"].pop("crush_version")
    _, asked = _reread(fake)
    assert sorted(asked) == ["osd crush dump", "osd dump", "osd tree"]


@pytest.mark.parametrize(
    "boot",
    [
        lambda dump: dump["osds"][0].update(up_from=dump["epoch"]),  # an OSD booted
        lambda dump: dump["osds"].pop(),  # one was removed (`osd rm`)
        lambda dump: dump["osds"][0].update(uuid="00000000-0000-0000-0000-000000000000"),
    ],
)
def test_a_boot_or_a_removal_asks_the_metadata_again(boot: Any) -> None:
    fake = FakeCeph("pacific_mixed")

    def booted(dump: dict[str, Any]) -> None:
        boot(dump)
        fake.answers["osd metadata"] = fake.answers["osd metadata"][:1]

    maps, asked = _reread(fake, booted)
    assert sorted(asked) == ["osd dump", "osd metadata"]
    assert maps.metadata == fake.answers["osd metadata"]


@pytest.mark.parametrize("failing", ["osd dump", "osd tree", "osd crush dump", "osd metadata"])
def test_a_failing_command_surfaces_as_its_ceph_error(failing: str) -> None:
    # Not as the task group's ExceptionGroup, which the app would answer with a bare 500.
    with pytest.raises(CephError) as caught:
        run_with(FakeCeph("pacific_3osd", fail=failing), osd_ceph.list_osds)
    assert caught.value.status_code == 504


def test_get_osd_and_unknown_id() -> None:
    osd = run_with(FakeCeph("pacific_3osd"), osd_ceph.get_osd, 0)
    assert typed_json(osd) == typed_json(load_sample("GET_osd_0.pacific_3osd.json"))
    with pytest.raises(NotFound):
        run_with(FakeCeph("pacific_3osd"), osd_ceph.get_osd, 3)


def test_osd_commands_follow_the_up_state() -> None:
    fake = FakeCeph("pacific_mixed")
    assert run_with(fake, osd_ceph.list_osd_commands, 0) == ALL_COMMANDS
    assert run_with(fake, osd_ceph.list_osd_commands, 2) == []
    with pytest.raises(NotFound) as caught:
        run_with(fake, osd_ceph.list_osd_commands, 7)
    assert caught.value.message == 'Failed to identify the OSD id "7"'


# -- writes: the module's command waves --------------------------------------------------------


def test_update_commands_in_the_modules_order_reweight_after_in() -> None:
    assert osd_ceph.update_commands(3, in_=True, up=False, reweight=0.5) == [
        [{"prefix": "osd in", "ids": ["3"]}, {"prefix": "osd down", "ids": ["3"]}],
        [{"prefix": "osd reweight", "id": 3, "weight": 0.5}],
    ]
    assert osd_ceph.update_commands(0, in_=False, up=False) == [
        [{"prefix": "osd out", "ids": ["0"]}, {"prefix": "osd down", "ids": ["0"]}],
        [],
    ]
    assert osd_ceph.update_commands(0, reweight=0.25) == [
        [],
        [{"prefix": "osd reweight", "id": 0, "weight": 0.25}],
    ]
    assert osd_ceph.update_commands(0) == [[], []]


def test_reweight_is_sent_as_a_float() -> None:
    # Pacific refuses an integral JSON number for `weight`.
    [[], [command]] = osd_ceph.update_commands(1, reweight=1)
    assert command["weight"] == 1.0
    assert isinstance(command["weight"], float)


def test_out_with_a_reweight_is_refused() -> None:
    # Both set the OSD map weight: out is 0.
    for reweight in (0.0, 0.5):
        with pytest.raises(BadRequest) as caught:
            osd_ceph.update_commands(0, in_=False, reweight=reweight)
        assert "out sets its weight to 0" in caught.value.message


def test_the_specs_examples_are_changes_the_route_makes() -> None:
    # schemathesis sent the spec's example {"in": false, "reweight": 0.8}: a 400.
    examples = OsdUpdate.model_json_schema(by_alias=True)["examples"]
    assert examples
    for example in examples:
        changes = OsdUpdate.model_validate(example).changes()
        assert osd_ceph.update_commands(
            0, in_=changes.get("in"), up=changes.get("up"), reweight=changes.get("reweight")
        ) != [[], []]


def test_up_true_is_refused() -> None:
    with pytest.raises(BadRequest) as caught:
        osd_ceph.update_commands(0, in_=True, up=True)
    assert caught.value.status_code == 400
    assert caught.value.message == "It is not valid to set a down OSD to be up"


def test_command_on_an_up_osd() -> None:
    for command in ALL_COMMANDS:
        assert osd_ceph.command_commands({"osd": 4, "up": 1}, command) == [
            [{"prefix": f"osd {command}", "who": "4"}]
        ]


def test_command_on_a_down_osd_is_409() -> None:
    with pytest.raises(Conflict) as caught:
        osd_ceph.command_commands({"osd": 2, "up": 0}, "scrub")
    assert caught.value.status_code == 409
    assert caught.value.message == 'Command "scrub" not available: osd.2 is not up'


def test_unimplemented_command_is_400() -> None:
    with pytest.raises(BadRequest):
        osd_ceph.command_commands({"osd": 0, "up": 1}, "compact")


def test_update_waves_check_the_osd_exists_first() -> None:
    fake = FakeCeph("pacific_mixed")
    assert run_with(fake, osd_ceph.update_waves, 1, {"in": True, "reweight": 0.25}) == [
        [{"prefix": "osd in", "ids": ["1"]}],
        [{"prefix": "osd reweight", "id": 1, "weight": 0.25}],
    ]
    # A write checks the OSD map as it is now: fetched, not taken from the cache.
    assert "osd dump" in [c["prefix"] for c in fake.asked]
    with pytest.raises(NotFound) as caught:
        run_with(fake, osd_ceph.update_waves, 7, {"in": True})
    assert caught.value.message == 'Failed to identify the OSD id "7"'
    # `up: true` is refused before anything is asked.
    fake.asked.clear()
    with pytest.raises(BadRequest):
        run_with(fake, osd_ceph.update_waves, 7, {"up": True})
    assert fake.asked == []


def test_command_waves_use_the_up_state_of_the_map() -> None:
    # In the mixed scenario osd.2 is down.
    fake = FakeCeph("pacific_mixed")
    assert run_with(fake, osd_ceph.command_waves, 0, "deep-scrub") == [
        [{"prefix": "osd deep-scrub", "who": "0"}]
    ]
    with pytest.raises(Conflict):
        run_with(fake, osd_ceph.command_waves, 2, "scrub")
    with pytest.raises(NotFound):
        run_with(fake, osd_ceph.command_waves, 9, "scrub")


def test_update_body() -> None:
    assert OsdUpdate.model_validate({"in": False, "reweight": 1}).changes() == {
        "in": False,
        "reweight": 1.0,
    }
    assert OsdUpdate.model_validate({}).changes() == {}
    with pytest.raises(ValidationError) as caught:
        OsdUpdate.model_validate({"in": 1, "up": "no", "reweight": 1.5, "in_": True, "out": 1})
    found = {".".join(map(str, e["loc"])): e["type"] for e in caught.value.errors()}
    assert found == {
        "in": "bool_type",
        "up": "bool_type",
        "reweight": "less_than_equal",
        "in_": "extra_forbidden",
        "out": "extra_forbidden",
    }
    with pytest.raises(ValidationError):
        OsdUpdate.model_validate({"reweight": None})


def test_command_body() -> None:
    assert OsdCommand.model_validate({"command": "repair"}).command == "repair"
    for bad in ({}, {"command": "compact"}, {"command": "scrub", "who": 1}):
        with pytest.raises(ValidationError):
            OsdCommand.model_validate(bad)
