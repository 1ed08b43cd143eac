"""The differential tests' JSON comparator: it must see every kind of difference it claims to."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.integration.differential import (
    ABSENT,
    ANY,
    CONTENT_TYPE,
    STATUS,
    Difference,
    Known,
    Reply,
    Volatile,
    compare,
    compare_replies,
    compare_shapes,
    json_equal,
    json_type,
    match_place,
    pointer,
    report,
    undocumented,
    unexplained,
    volatile_places,
)


def kinds(differences: list[Difference]) -> list[tuple[str, str]]:
    return [(d.place, d.kind) for d in differences]


# --------------------------------------------------------------------------- types and equality


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "null"),
        (True, "bool"),
        (False, "bool"),
        (0, "int"),
        (1.0, "float"),
        ("1", "str"),
        ([], "list"),
        ({}, "dict"),
    ],
)
def test_json_type(value: Any, expected: str) -> None:
    assert json_type(value) == expected


def test_json_type_rejects_what_json_cannot_hold() -> None:
    with pytest.raises(TypeError):
        json_type((1, 2))


@pytest.mark.parametrize(
    ("a", "b"),
    [(True, 1), (False, 0), (1, 1.0), (0, None), ("1", 1), ([1], [1.0]), ({"a": 1}, {"a": True})],
)
def test_json_equal_tells_types_apart(a: Any, b: Any) -> None:
    assert not json_equal(a, b)
    assert not json_equal(b, a)


def test_json_equal_on_equal_documents() -> None:
    doc = {"a": [1, 2.5, None, True, {"b": "c"}], "d": {}}
    assert json_equal(doc, json.loads(json.dumps(doc)))
    assert json_equal(float("nan"), float("nan"))


# --------------------------------------------------------------------------- compare


def test_identical_documents_have_no_difference() -> None:
    doc = json.loads('{"osds": [{"osd": 0, "up": 1, "weight": 1.0, "pools": [1]}], "x": null}')
    assert compare(doc, json.loads(json.dumps(doc))) == []


def test_bool_is_not_int() -> None:
    [d] = compare({"in_quorum": 1}, {"in_quorum": True})
    assert (d.place, d.kind, d.gateway, d.module) == ("$/in_quorum", "type", 1, True)
    assert "type gateway int 1 vs module bool True" in str(d)


def test_int_is_not_float() -> None:
    # The float-typing trap: librados JSON prints 1.0 as 1.
    assert kinds(compare([{"weight": 1}], [{"weight": 1.0}])) == [("$/0/weight", "type")]


def test_null_and_str_and_containers_are_types() -> None:
    gateway: dict[str, Any] = {"a": None, "b": "1", "c": [], "d": {}}
    module: dict[str, Any] = {"a": "", "b": 1, "c": {}, "d": []}
    assert kinds(compare(gateway, module)) == [
        ("$/a", "type"),
        ("$/b", "type"),
        ("$/c", "type"),
        ("$/d", "type"),
    ]


def test_different_values() -> None:
    [d] = compare({"a": {"b": [1, 2, 3]}}, {"a": {"b": [1, 5, 3]}})
    assert (d.place, d.kind, d.gateway, d.module) == ("$/a/b/1", "value", 2, 5)


def test_root_scalar_difference() -> None:
    assert kinds(compare("x", "y")) == [("$", "value")]
    assert kinds(compare(None, {"message": "m"})) == [("$", "type")]


def test_missing_and_extra_keys_at_any_depth() -> None:
    gateway = {"a": 1, "deep": {"x": 1, "only_gateway": 2}}
    module = {"a": 1, "only_module": 3, "deep": {"x": 1}}
    differences = compare(gateway, module)
    assert kinds(differences) == [("$/only_module", "missing"), ("$/deep/only_gateway", "extra")]
    missing, extra = differences
    assert missing.gateway is ABSENT
    assert missing.module == 3
    assert extra.module is ABSENT


def test_lists_are_compared_item_by_item_in_order() -> None:
    assert kinds(compare([1, 2], [2, 1])) == [("$/0", "value"), ("$/1", "value")]


def test_shorter_and_longer_lists() -> None:
    assert kinds(compare([1], [1, 2, 3])) == [("$/1", "missing"), ("$/2", "missing")]
    assert kinds(compare([1, 2], [1])) == [("$/1", "extra")]


def test_keys_are_escaped_in_places() -> None:
    assert kinds(compare({"a/b": 1, "c~d": 1}, {"a/b": 2, "c~d": 2})) == [
        ("$/a~1b", "value"),
        ("$/c~0d", "value"),
    ]
    assert pointer("osd.0", "a/b", 3) == "$/osd.0/a~1b/3"
    assert pointer() == "$"


def test_key_order_does_not_matter() -> None:
    assert compare({"a": 1, "b": 2}, {"b": 2, "a": 1}) == []


# --------------------------------------------------------------------------- volatile leaves


PERF = {
    "mon.a": {
        "paxos.commit": {"description": "Commits", "priority": 5, "value": 10, "count": 3},
        "mon.num_elections": {"description": "Elections", "priority": 5, "value": 1},
    }
}


def _perf(**changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(json.dumps(PERF))
    for path, value in changes.items():
        counter, field = path.split("__")
        doc["mon.a"][counter.replace("_", ".", 1)][field] = value
    return doc


def test_volatile_leaves_skip_values_only() -> None:
    volatile = ["$/mon.*/paxos.*/value", "$/mon.*/paxos.*/count"]
    moved = _perf(paxos_commit__value=12, paxos_commit__count=4)
    assert compare(moved, PERF, volatile=volatile) == []
    # Without the allow-list the same document differs.
    assert kinds(compare(moved, PERF)) == [
        ("$/mon.a/paxos.commit/value", "value"),
        ("$/mon.a/paxos.commit/count", "value"),
    ]


def test_volatile_leaves_still_have_their_type_checked() -> None:
    volatile = ["$/mon.*/paxos.*/value"]
    assert kinds(compare(_perf(paxos_commit__value=1.5), PERF, volatile=volatile)) == [
        ("$/mon.a/paxos.commit/value", "type")
    ]


def test_volatile_does_not_reach_other_fields_or_counters() -> None:
    volatile = ["$/mon.*/paxos.*/value"]
    assert kinds(compare(_perf(paxos_commit__priority=10), PERF, volatile=volatile)) == [
        ("$/mon.a/paxos.commit/priority", "value")
    ]
    assert kinds(compare(_perf(mon_num_elections__value=2), PERF, volatile=volatile)) == [
        ("$/mon.a/mon.num_elections/value", "value")
    ]


def test_volatile_leaves_cannot_go_missing() -> None:
    gateway = _perf()
    del gateway["mon.a"]["paxos.commit"]["count"]
    assert kinds(compare(gateway, PERF, volatile=["$/**"])) == [
        ("$/mon.a/paxos.commit/count", "missing")
    ]


def test_volatile_places_by_endpoint() -> None:
    table = [Volatile("/perf*", "$/mon.*/*/value", "busy"), Volatile("/osd", "$/x", "why")]
    assert volatile_places("/perf?daemon=mon", table) == ["$/mon.*/*/value"]
    assert volatile_places("/osd", table) == ["$/x"]
    assert volatile_places("/pool", table) == []


# --------------------------------------------------------------------------- patterns


@pytest.mark.parametrize(
    ("pattern", "place", "matches"),
    [
        ("$", "$", True),
        ("$", "$/a", False),
        ("$/*", "$/a", True),
        ("$/*", "$/a/b", False),
        ("$/**", "$", True),
        ("$/**", "$/a/b/c", True),
        ("$/**/value", "$/osd.0/osd.op/value", True),
        ("$/**/value", "$/osd.0/osd.op/count", False),
        ("$/osd.*/objecter.*/priority", "$/osd.12/objecter.op_r/priority", True),
        ("$/osd.*/objecter.*/priority", "$/mon.a/objecter.op_r/priority", False),
        ("$/[0-9]/pools", "$/3/pools", True),
        ("#status", "#status", True),
        ("#status", "$", False),
        ("$/**", "#status", False),
        ("#content-type", "#status", False),
    ],
)
def test_match_place(pattern: str, place: str, matches: bool) -> None:
    assert match_place(pattern, place) is matches


# --------------------------------------------------------------------------- replies


def _reply(status: int, body: Any = None, html: str | None = None) -> Reply:
    if html is not None:
        response = httpx.Response(status, html=html)
    else:
        response = httpx.Response(status, json=body)
    return Reply.of(response)


def test_reply_of_json_and_html() -> None:
    ok = _reply(200, {"a": 1})
    assert (ok.status, ok.media_type, ok.body) == (200, "application/json", {"a": 1})
    assert json.loads(ok.text) == {"a": 1}
    html = _reply(500, html="<h1>Internal Server Error</h1>")
    assert (html.status, html.media_type, html.body) == (500, "text/html", None)


def test_compare_replies_status_and_body() -> None:
    message = {"message": 'Failed to identify the pool id "999"'}
    assert kinds(compare_replies(_reply(404, message), _reply(500, message))) == [
        (STATUS, "status")
    ]
    assert kinds(compare_replies(_reply(404, {"message": "x"}), _reply(500, message))) == [
        (STATUS, "status"),
        ("$/message", "value"),
    ]


def test_compare_replies_json_against_html() -> None:
    differences = compare_replies(_reply(400, {"message": "bad"}), _reply(500, html="<p>"))
    assert [(d.place, d.gateway, d.module) for d in differences] == [
        (STATUS, 400, 500),
        (CONTENT_TYPE, "application/json", "text/html"),
    ]


def test_compare_replies_passes_volatile_on() -> None:
    gateway, module = _reply(200, {"t": 2}), _reply(200, {"t": 1})
    assert compare_replies(gateway, module, volatile=["$/t"]) == []
    assert len(compare_replies(gateway, module)) == 1


# --------------------------------------------------------------------------- known differences


NOT_FOUND = Known("/pool/999", STATUS, "status", "404 not 500", gateway=404, module=500)


def test_known_difference_covers_exactly_its_values() -> None:
    assert NOT_FOUND.covers("/pool/999", Difference(STATUS, "status", 404, 500))
    assert not NOT_FOUND.covers("/pool/999", Difference(STATUS, "status", 200, 500))
    assert not NOT_FOUND.covers("/pool/999", Difference(STATUS, "status", 404, 200))
    assert not NOT_FOUND.covers("/pool/1", Difference(STATUS, "status", 404, 500))
    assert not NOT_FOUND.covers("/pool/999", Difference("$/message", "value", "a", "b"))


def test_known_difference_values_are_json_typed() -> None:
    known = Known("/x", "$", "type", "why", gateway=ANY, module=None)
    assert known.covers("/x", Difference("$", "type", {"message": "m"}, None))
    assert not known.covers("/x", Difference("$", "type", {"message": "m"}, "null"))
    strict = Known("/x", "$/n", "value", "why", gateway=1, module=2)
    assert not strict.covers("/x", Difference("$/n", "value", True, 2))
    assert not strict.covers("/x", Difference("$/n", "value", 1.0, 2))
    assert strict.covers("/x", Difference("$/n", "value", 1, 2))


def test_known_absent_side() -> None:
    known = Known("/x", "$/k", "missing", "why", gateway=ABSENT)
    assert known.covers("/x", Difference("$/k", "missing", ABSENT, 3))
    assert not Known("/x", "$/k", "missing", "why", gateway=0).covers(
        "/x", Difference("$/k", "missing", ABSENT, 3)
    )


def test_unexplained_keeps_what_no_entry_covers() -> None:
    differences = [
        Difference(STATUS, "status", 404, 500),
        Difference("$/message", "value", "a", "b"),
    ]
    assert unexplained("/pool/999", differences, [NOT_FOUND]) == differences[1:]
    assert unexplained("/pool/999", differences, []) == differences


def test_undocumented_needs_endpoint_and_place_on_one_line() -> None:
    other = Known("/mon/zz", STATUS, "status", "why", gateway=404, module=500)
    doc = "| `/pool/999` | `#status` | 404 | 500 |\n| `/mon/zz` | 404 |\n`#status`\n"
    assert undocumented([NOT_FOUND, other], doc) == [other]
    assert undocumented([NOT_FOUND, other], "") == [NOT_FOUND, other]


def test_report_lists_and_truncates() -> None:
    differences = [Difference(f"$/{i}", "value", i, i + 1) for i in range(5)]
    text = report("/osd", differences, limit=2)
    assert text.splitlines()[0] == "/osd: 5 difference(s) from the restful module"
    assert "$/0: value: gateway 0 vs module 1" in text
    assert "$/4" not in text
    assert text.endswith("... and 3 more")


def test_a_list_item_is_held_to_the_recorded_item_most_like_it() -> None:
    recorded = [{"pool_name": "a", "options": {}}, {"pool_name": ".mgr", "options": {"n": 1}}]
    # A third pool, made without options, is held to the first recorded one, not the last.
    gateway = [*recorded, {"pool_name": "cephgw", "options": {}}]
    assert compare_shapes(gateway, recorded) == []
    # One like no recorded item is held to the closest: one difference, not two.
    odd = [{"pool_name": "x", "options": {"n": 1, "m": 2}}]
    assert compare_shapes(odd, recorded) == [Difference("$/0/options/m", "extra", 2, ABSENT)]
