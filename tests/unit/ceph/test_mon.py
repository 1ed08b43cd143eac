"""/mon shaping, from answers recorded on a dev cluster and the module's own answers."""

from __future__ import annotations

from typing import Any

import pytest

from app.ceph.mon import find_mon, mon_hostnames, shape_mons
from app.errors import NotFound
from tests.support import load_sample

ADDED_KEYS = ("in_quorum", "leader", "server")


def mon_entry(rank: int, name: str) -> dict[str, Any]:
    return {"rank": rank, "name": name, "addr": f"10.0.0.{rank}:6789/0", "crush_location": "{}"}


def test_the_module_answer_is_the_monmap_plus_three_keys() -> None:
    # Undo what the module added to its answer: shaping the rest must give it back.
    module_answer = load_sample("GET_mon.json")
    monmap_mons = [{k: v for k, v in m.items() if k not in ADDED_KEYS} for m in module_answer]
    quorum_status = {"quorum": [0], "monmap": {"mons": monmap_mons}}
    metadata = [{"name": "a", "hostname": "vm", "ceph_version": "x"}]
    assert shape_mons(quorum_status, metadata) == module_answer


def test_recorded_answers_give_the_module_keys_and_types() -> None:
    mons = shape_mons(load_sample("quorum_status.json"), load_sample("mon_metadata.json"))
    expected = load_sample("GET_mon.json")
    assert len(mons) == 1
    assert set(mons[0]) == set(expected[0])
    assert {k: type(v) for k, v in mons[0].items()} == {k: type(v) for k, v in expected[0].items()}
    assert mons[0]["name"] == "a"
    assert mons[0]["server"] == "vm"
    assert mons[0]["in_quorum"] is True
    assert mons[0]["leader"] is True
    # crush_location is a string in the monmap dump; nothing parses it.
    assert mons[0]["crush_location"] == "{}"


def test_quorum_status_carries_the_same_monmap_as_mon_dump() -> None:
    assert (
        load_sample("quorum_status.json")["monmap"]["mons"] == load_sample("mon_dump.json")["mons"]
    )


def test_leader_is_the_lowest_rank_in_quorum_not_quorum_leader_name() -> None:
    quorum_status = {
        "quorum": [1, 2],
        "quorum_leader_name": "c",
        "monmap": {"mons": [mon_entry(0, "a"), mon_entry(1, "b"), mon_entry(2, "c")]},
    }
    metadata = [{"name": n, "hostname": f"host-{n}"} for n in "abc"]
    mons = shape_mons(quorum_status, metadata)
    assert [(m["name"], m["in_quorum"], m["leader"]) for m in mons] == [
        ("a", False, False),
        ("b", True, True),
        ("c", True, False),
    ]
    assert [m["server"] for m in mons] == ["host-a", "host-b", "host-c"]


def test_mon_without_metadata_has_a_null_server() -> None:
    quorum_status = {"quorum": [0], "monmap": {"mons": [mon_entry(0, "a"), mon_entry(1, "b")]}}
    # `mon metadata` lists a mon it holds no metadata for with its name only.
    metadata = [{"name": "a", "hostname": "h1"}, {"name": "b"}]
    assert [m["server"] for m in shape_mons(quorum_status, metadata)] == ["h1", None]


def test_no_quorum_means_no_leader() -> None:
    quorum_status = {"quorum": [], "monmap": {"mons": [mon_entry(0, "a")]}}
    [mon] = shape_mons(quorum_status, [])
    assert mon["in_quorum"] is False
    assert mon["leader"] is False


def test_fields_of_newer_releases_pass_through() -> None:
    entry = {**mon_entry(0, "a"), "some_reef_field": {"x": 1}}
    quorum_status = {"quorum": [0], "monmap": {"mons": [entry]}}
    assert shape_mons(quorum_status, [])[0]["some_reef_field"] == {"x": 1}


def test_mon_hostnames_skips_entries_without_hostname() -> None:
    assert mon_hostnames([{"name": "a", "hostname": "h"}, {"name": "b"}, {}]) == {"a": "h"}


def test_find_mon_returns_the_named_one() -> None:
    mons = shape_mons(load_sample("quorum_status.json"), load_sample("mon_metadata.json"))
    assert find_mon(mons, "a") is mons[0]


def test_find_mon_unknown_name_is_404_with_the_module_message() -> None:
    with pytest.raises(NotFound) as caught:
        find_mon([{"name": "a"}], "zz")
    assert caught.value.status_code == 404
    assert caught.value.message == 'Failed to identify the monitor node "zz"'


@pytest.mark.parametrize(
    ("location", "text"),
    [
        ("{datacenter=dc1,host=h1}", "{datacenter=dc1,host=h1}"),  # Pacific's, as it is
        ("{}", "{}"),
        ([], "{}"),  # Tentacle's empty list
        (
            [{"key": "host", "val": "h1"}, {"key": "datacenter", "val": "dc1"}],
            "{datacenter=dc1,host=h1}",
        ),
        ({"host": "h1", "datacenter": "dc1"}, "{datacenter=dc1,host=h1}"),
    ],
)
def test_crush_location_is_pacifics_text_on_every_release(location: Any, text: str) -> None:
    status = {
        "quorum": [0],
        "monmap": {"mons": [{"rank": 0, "name": "a", "crush_location": location}]},
    }
    assert shape_mons(status, [])[0]["crush_location"] == text
