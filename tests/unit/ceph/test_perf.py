"""/perf: the pure shaping from answers recorded on a dev cluster, the `?daemon=` filter and
the schema cache's own bookkeeping.

The calls to the daemons (`get_perf_counters`) are tested against a real cluster in
tests/integration/ceph/test_perf.py.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import pytest

from app.ceph.perf import (
    DAEMON_PERF_COUNTERS,
    MAX_DAEMON_PATTERN_LENGTH,
    PERF_COUNTERS,
    PerfDaemon,
    PerfSchemaCache,
    Schema,
    compile_daemon_filter,
    counter_value,
    join_daemon_counters,
    merge_schemas,
    min_shown_priority,
    parse_perf_json,
    perf_daemons,
    schema_matches_dump,
    seconds_to_ns,
    shape_counter,
    shape_daemon_counters,
    stats_threshold,
)
from app.ceph.state import render
from app.errors import BadRequest
from tests.support import load_sample, read_sample

OSD_DUMP = {
    "epoch": 20,
    "osds": [
        {"osd": 0, "up": 1, "in": 1, "up_from": 8},
        {"osd": 1, "up": 1, "in": 1, "up_from": 9},
        {"osd": 2, "up": 0, "in": 1, "up_from": 10},
    ],
}
QUORUM_STATUS = {"election_epoch": 3, "quorum": [0], "quorum_names": ["a"]}


def recorded(daemon: str, command: str) -> Any:
    return parse_perf_json(read_sample(f"tell_{daemon}_{command}.json"))


def recorded_schema(daemon: str) -> Schema:
    return merge_schemas(recorded(daemon, "perf_schema"), recorded(daemon, "perf_histogram_schema"))


def module_osd0() -> dict[str, dict[str, Any]]:
    answer: dict[str, dict[str, Any]] = load_sample("GET_perf_daemon_osd.0.json")["osd.0"]
    return answer


def without_value(counter: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in counter.items() if k not in ("value", "count")}


def without_priority(counter: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in without_value(counter).items() if k != "priority"}


# -- the daemon filter --------------------------------------------------------------------------


def test_filter_matches_at_the_start_of_the_name_only() -> None:
    matches = compile_daemon_filter("o")
    assert matches("osd.0")
    assert not matches("mon.o")
    anchored = compile_daemon_filter(r"osd\.1$")
    assert anchored("osd.1")
    assert not anchored("osd.10")


def test_no_pattern_or_an_empty_one_matches_everything() -> None:
    assert compile_daemon_filter(None)("mon.a")
    assert compile_daemon_filter("")("mon.a")


@pytest.mark.parametrize("pattern", ["(", "osd[", r"(a)\1", "(?<=o)sd", "a{1001}"])
def test_invalid_pattern_is_a_400_that_says_why(pattern: str) -> None:
    with pytest.raises(BadRequest) as caught:
        compile_daemon_filter(pattern)
    assert caught.value.status_code == 400
    assert caught.value.message.startswith("daemon: invalid regular expression: ")
    assert len(caught.value.message) > len("daemon: invalid regular expression: ")


def test_over_long_pattern_is_a_400() -> None:
    compile_daemon_filter("o" * MAX_DAEMON_PATTERN_LENGTH)
    with pytest.raises(BadRequest) as caught:
        compile_daemon_filter("o" * (MAX_DAEMON_PATTERN_LENGTH + 1))
    assert "longer than 256 characters" in caught.value.message


def test_pathological_pattern_matches_in_linear_time() -> None:
    # Python's `re` backtracks exponentially on this; RE2 does not.
    matches = compile_daemon_filter("(a*)*b")
    started = time.monotonic()
    assert not matches("a" * 200_000)
    assert time.monotonic() - started < 1.0


# -- which daemons ------------------------------------------------------------------------------


def test_daemons_are_quorum_mons_and_up_osds_with_their_incarnation() -> None:
    daemons = perf_daemons(
        OSD_DUMP, {**QUORUM_STATUS, "quorum_names": ["b", "a"], "election_epoch": 7}
    )
    assert daemons == [
        PerfDaemon("mon", "a", 7),
        PerfDaemon("mon", "b", 7),
        PerfDaemon("osd", "0", 8),
        PerfDaemon("osd", "1", 9),
    ]
    assert [d.name for d in daemons] == ["mon.a", "mon.b", "osd.0", "osd.1"]


def test_daemons_sort_ids_as_strings_like_the_module() -> None:
    dump = {"osds": [{"osd": i, "up": 1, "up_from": 1} for i in (2, 10)]}
    assert [d.name for d in perf_daemons(dump, {})] == ["osd.10", "osd.2"]


# -- values -----------------------------------------------------------------------------------


def test_time_values_are_exact_integer_nanoseconds() -> None:
    assert seconds_to_ns(Decimal("0.039999999")) == 39_999_999
    assert seconds_to_ns(Decimal("12345.123456789")) == 12_345_123_456_789
    assert seconds_to_ns(0) == 0
    assert seconds_to_ns("1.5") == 1_500_000_000


def test_parse_keeps_decimals_exact() -> None:
    parsed = parse_perf_json(b'{"s": {"t": 0.039999999, "n": 3}}')
    assert parsed == {"s": {"t": Decimal("0.039999999"), "n": 3}}
    assert parse_perf_json(b"") == {}


@pytest.mark.parametrize(
    ("counter_type", "raw", "expected"),
    [
        (2, 7, (7, None)),  # u64 gauge
        (10, 12, (12, None)),  # u64 counter
        (1, Decimal("0.5"), (500_000_000, None)),  # time
        (5, {"avgcount": 3, "sum": Decimal("0.25"), "avgtime": Decimal("0.08")}, (250_000_000, 3)),
        (6, {"avgcount": 4, "sum": 4096}, (4096, 4)),  # u64 average
        (26, {"whatever": 1}, (0, None)),  # histogram
        (2, None, (0, None)),  # missing from the dump
        (5, None, (0, 0)),
    ],
)
def test_counter_value(counter_type: int, raw: Any, expected: tuple[int, int | None]) -> None:
    assert counter_value(counter_type, raw) == expected


def test_shape_counter_drops_empty_nick_and_maps_units() -> None:
    entry = {
        "type": 10,
        "metric_type": "counter",
        "value_type": "integer",
        "description": "Bytes",
        "nick": "",
        "priority": 8,
        "units": "bytes",
    }
    assert shape_counter(entry, 9) == {
        "description": "Bytes",
        "type": 10,
        "priority": 8,
        "units": 0,
        "value": 9,
    }
    with_nick = shape_counter({**entry, "nick": "b", "units": "none"}, 9)
    assert with_nick["nick"] == "b"
    assert with_nick["units"] == 1


def test_min_priority_is_the_higher_of_useful_and_the_stats_threshold() -> None:
    assert min_shown_priority(0) == 5
    assert min_shown_priority(8) == 8
    assert stats_threshold(7) == 7
    assert stats_threshold("7") == 7
    assert stats_threshold(None) == 5
    assert stats_threshold("x") == 5


# -- whole daemons, recorded ----------------------------------------------------------------


def test_histograms_come_from_the_histogram_schema() -> None:
    schema = recorded_schema("osd.0")
    assert "op_r_latency_out_bytes_histogram" not in recorded("osd.0", "perf_schema")["osd"]
    assert schema["osd"]["op_r_latency_out_bytes_histogram"]["type"] == 26
    assert "op_latency" in schema["osd"]


def test_recorded_osd_gives_the_module_counters_and_fields() -> None:
    counters = shape_daemon_counters(recorded_schema("osd.0"), recorded("osd.0", "perf_dump"), 5)
    schema = recorded_schema("osd.0")
    module = module_osd0()
    assert set(counters) == set(module)
    for path, counter in counters.items():
        section, name = path.split(".", 1)
        # The priority is the schema's. This recording caught the mgr holding OSD objecter
        # counters at 3 more during its start-up; the live module shows the schema's.
        assert counter["priority"] == schema[section][name]["priority"], path
        if section != "objecter":
            assert counter["priority"] == module[path]["priority"], path
        assert without_priority(counter) == without_priority(module[path]), path
        assert ("count" in counter) == ("count" in module[path]), path
        assert type(counter["value"]) is int


def test_recorded_osd_values_come_from_its_dump() -> None:
    dump = recorded("osd.0", "perf_dump")
    counters = shape_daemon_counters(recorded_schema("osd.0"), dump, 5)
    assert counters["osd.stat_bytes"]["value"] == dump["osd"]["stat_bytes"] == 256 * 1024 * 1024
    assert counters["osd.op_latency"]["count"] == dump["osd"]["op_latency"]["avgcount"]
    assert counters["objecter.op_rmw"]["priority"] == 5


def test_recorded_mon_counters() -> None:
    dump = recorded("mon.a", "perf_dump")
    counters = shape_daemon_counters(recorded_schema("mon.a"), dump, 5)
    assert len(counters) == 98
    assert all(c["priority"] >= 5 for c in counters.values())
    refresh = counters["paxos.refresh_latency"]
    raw = dump["paxos"]["refresh_latency"]
    assert refresh["type"] == 5
    assert refresh["value"] == int(raw["sum"] * 1_000_000_000)
    assert refresh["count"] == raw["avgcount"]
    # The mon's rocksdb counters show the priority of its schema, unadjusted.
    assert (
        counters["rocksdb.get"]["priority"]
        == recorded_schema("mon.a")["rocksdb"]["get"]["priority"]
    )


def test_a_higher_threshold_shows_fewer_counters() -> None:
    schema = recorded_schema("mon.a")
    dump = recorded("mon.a", "perf_dump")
    high = shape_daemon_counters(schema, dump, 8)
    assert 0 < len(high) < 98
    assert all(c["priority"] >= 8 for c in high.values())


def test_recorded_schema_matches_its_dump_until_a_counter_appears() -> None:
    schema = recorded_schema("osd.0")
    dump = recorded("osd.0", "perf_dump")
    assert schema_matches_dump(schema, dump)
    assert not schema_matches_dump(schema, {**dump, "new_section": {"c": 1}})
    assert not schema_matches_dump(schema, {k: v for k, v in dump.items() if k != "osd"})


# -- the cache --------------------------------------------------------------------------------


def test_cache_entry_is_valid_for_one_incarnation() -> None:
    cache = PerfSchemaCache()
    schema: Schema = {"s": {}}
    cache.put(PerfDaemon("osd", "0", 8), schema)
    assert cache.get(PerfDaemon("osd", "0", 8)) is schema
    assert cache.get(PerfDaemon("osd", "0", 9)) is None
    assert cache.get(PerfDaemon("osd", "1", 8)) is None


def test_cache_forgets_daemons_that_are_gone() -> None:
    cache = PerfSchemaCache()
    cache.put(PerfDaemon("osd", "0", 8), {})
    cache.put(PerfDaemon("osd", "1", 8), {})
    cache.retain(["osd.1"])
    assert len(cache) == 1
    assert cache.get(PerfDaemon("osd", "1", 8)) == {}


def test_joined_daemon_counters_are_the_bytes_of_the_whole_answer() -> None:
    # Each daemon's counters are rendered once per snapshot and joined per request: the
    # bytes must be those of the whole answer rendered at once (nick and count left unset).
    osd = shape_daemon_counters(recorded_schema("osd.0"), recorded("osd.0", "perf_dump"), 5)
    mon = shape_daemon_counters(recorded_schema("mon.a"), recorded("mon.a", "perf_dump"), 5)
    whole = {"mon.a": mon, "osd.0": osd}
    parts = [
        (name, render(DAEMON_PERF_COUNTERS, c, exclude_unset=True)) for name, c in whole.items()
    ]
    assert join_daemon_counters(parts) == render(PERF_COUNTERS, whole, exclude_unset=True)
    assert join_daemon_counters([]) == render(PERF_COUNTERS, {}) == b"{}"
