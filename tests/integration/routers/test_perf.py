"""GET /perf against a real cluster, checked with Ceph's own CLI (`ceph tell <daemon> perf`)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from fastapi.testclient import TestClient

from cli.dev_cluster import DevCluster
from tests.support import load_sample
from tests.support.cluster import ceph_cli_json

pytestmark = pytest.mark.integration

TYPE_TIME, TYPE_LONGRUNAVG, TYPE_COUNTER, TYPE_HISTOGRAM = 1, 4, 8, 16


def expected_daemons(cluster: DevCluster) -> set[str]:
    """The mons in quorum and the up OSDs."""
    quorum = ceph_cli_json(cluster, "quorum_status")["quorum_names"]
    osds = ceph_cli_json(cluster, "osd", "dump")["osds"]
    return {f"mon.{m}" for m in quorum} | {f"osd.{o['osd']}" for o in osds if o["up"]}


def perf(client: TestClient, auth: tuple[str, str], **params: str) -> Any:
    response = client.get("/perf", params=params, auth=auth)
    assert response.status_code == 200, response.text
    return response.json()


def test_every_daemon_and_the_module_counters(
    client: TestClient, read_only_auth: tuple[str, str], cluster: DevCluster
) -> None:
    """Every counter of priority 5 and up of each daemon's own `perf schema` (the names are the
    release's: each adds some), in the module's shape, recorded on Pacific."""
    counters = perf(client, read_only_auth)
    assert set(counters) == expected_daemons(cluster)
    recorded = load_sample("GET_perf_daemon_osd.0.json")["osd.0"]
    module_fields = {path: set(counter) for path, counter in recorded.items()}
    for name, daemon_counters in counters.items():
        for path, counter in daemon_counters.items():
            assert type(counter["value"]) is int, (name, path)
            assert counter["priority"] >= 5, (name, path)
            assert ("count" in counter) == bool(counter["type"] & TYPE_LONGRUNAVG), (name, path)
            if path in module_fields:
                assert set(counter) == module_fields[path], (name, path)
        if name.startswith("osd."):
            schemas = [
                ceph_cli_json(cluster, "tell", name, "perf", "schema"),
                ceph_cli_json(cluster, "tell", name, "perf", "histogram", "schema"),
            ]
            expected = {
                f"{section}.{counter_name}": entry
                for schema in schemas
                for section, entries in schema.items()
                for counter_name, entry in entries.items()
                if entry["priority"] >= 5
            }
            assert set(daemon_counters) == set(expected), name
            for path, counter in daemon_counters.items():
                # `perf schema` spells units out ("none"); the module's number is checked by
                # the differential tests.
                for field in ("description", "nick", "priority", "type"):
                    if field in counter:  # the module shows no `nick` for histograms
                        assert counter[field] == expected[path][field], (name, path, field)
            # The counters every release has, which the module's clients read.
            assert {"osd.op_r", "osd.op_w", "osd.numpg"} <= set(daemon_counters), name


def test_mon_counters_are_its_schema_at_priority_5_and_up(
    client: TestClient, admin_auth: tuple[str, str], cluster: DevCluster
) -> None:
    schema = ceph_cli_json(cluster, "tell", "mon.a", "perf", "schema")
    expected = {
        f"{section}.{name}": entry
        for section, entries in schema.items()
        for name, entry in entries.items()
        if entry["priority"] >= 5
    }
    counters = perf(client, admin_auth, daemon="mon")["mon.a"]
    assert set(counters) == set(expected)
    for path, counter in counters.items():
        assert counter["description"] == expected[path]["description"]
        assert counter["priority"] == expected[path]["priority"]
        assert counter["type"] == expected[path]["type"]
        assert counter["units"] == {"bytes": 0, "none": 1}[expected[path]["units"]]
        assert counter.get("nick", "") == expected[path]["nick"]


def test_values_are_the_daemon_dump(
    client: TestClient, admin_auth: tuple[str, str], cluster: DevCluster
) -> None:
    before = ceph_cli_json(cluster, "tell", "osd.0", "perf", "dump")
    counters = perf(client, admin_auth, daemon=r"osd\.0$")["osd.0"]
    after = ceph_cli_json(cluster, "tell", "osd.0", "perf", "dump")
    assert counters["osd.stat_bytes"]["value"] == after["osd"]["stat_bytes"] > 0
    for path, counter in counters.items():
        section, name = path.split(".", 1)
        if counter["type"] & TYPE_HISTOGRAM:
            assert counter["value"] == 0
            continue
        if counter["type"] & TYPE_LONGRUNAVG:
            low, high = before[section][name], after[section][name]
            assert low["avgcount"] <= counter["count"] <= high["avgcount"], path
            scale = 1_000_000_000 if counter["type"] & TYPE_TIME else 1
            # The CLI's float parse may be off by one ns.
            assert low["sum"] * scale - 1 <= counter["value"] <= high["sum"] * scale + 1, path
        elif counter["type"] & TYPE_COUNTER:
            assert before[section][name] <= counter["value"] <= after[section][name], path


@pytest.mark.parametrize(
    ("pattern", "selects"),
    [
        ("osd", lambda n: n.startswith("osd.")),
        ("o", lambda n: n.startswith("osd.")),
        ("mon", lambda n: n.startswith("mon.")),
        (r"osd\.1$", lambda n: n == "osd.1"),
        ("osd.(0|2)", lambda n: n in ("osd.0", "osd.2")),
        ("", lambda n: True),
        ("sd", lambda n: False),
        ("zzz", lambda n: False),
    ],
)
def test_daemon_filter_matches_at_the_start_of_the_name(
    client: TestClient,
    admin_auth: tuple[str, str],
    cluster: DevCluster,
    pattern: str,
    selects: Any,
) -> None:
    counters = perf(client, admin_auth, daemon=pattern)
    assert set(counters) == {n for n in expected_daemons(cluster) if selects(n)}


def test_page_is_accepted_and_ignored(client: TestClient, admin_auth: tuple[str, str]) -> None:
    assert set(perf(client, admin_auth, page="3")) == set(perf(client, admin_auth))
    assert set(perf(client, admin_auth, page="x", daemon="mon")) == {"mon.a"}


@pytest.mark.parametrize("pattern", ["(", "osd[", r"(a)\1"])
def test_invalid_pattern_is_400(
    client: TestClient, admin_auth: tuple[str, str], pattern: str
) -> None:
    response = client.get("/perf", params={"daemon": pattern}, auth=admin_auth)
    assert response.status_code == 400
    assert response.json()["message"].startswith("daemon: invalid regular expression: ")


def test_over_long_pattern_is_400(client: TestClient, admin_auth: tuple[str, str]) -> None:
    response = client.get("/perf", params={"daemon": "o" * 257}, auth=admin_auth)
    assert response.status_code == 400
    assert response.json() == {"message": "daemon: the pattern is longer than 256 characters"}


@pytest.mark.parametrize("pattern", ["(a*)*b", "(o|o|os|osd|osd.)*" * 13 + "x"])
def test_pathological_pattern_answers_fast(
    client: TestClient, admin_auth: tuple[str, str], pattern: str
) -> None:
    started = time.monotonic()
    assert perf(client, admin_auth, daemon=pattern) == {}
    assert time.monotonic() - started < 2.0
