"""`get_perf_counters` and its schema cache, called directly against real clusters.

What lands in the `PerfSchemaCache` is read from the cache object itself and checked against
Ceph's own CLI. The read-only cases run on the session cluster; stopping, freezing and
restarting OSDs happens on a small cluster of this module's own.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import anyio
import pytest

from app.ceph.client import CephClient, open_client
from app.ceph.maps import ClusterMaps
from app.ceph.perf import PerfDaemon, PerfSchemaCache, Schema, get_perf_counters
from app.ceph.state import open_cluster_state
from app.errors import BadRequest
from app.settings import Settings
from cli import dev_cluster
from cli.dev_cluster import DevCluster
from tests.support import wait_until
from tests.support.cluster import ceph_cli, ceph_cli_json

pytestmark = pytest.mark.integration

Counters = dict[str, dict[str, dict[str, Any]]]

# The small cluster's librados timeout: how long a daemon that cannot answer holds a request.
SMALL_CEPH_TIMEOUT = 5.0
# A request that waits on no daemon answers well within this.
QUICK = 2.0
OSD_WAIT = 30.0
SETTLE_POLL = 0.05


@dataclass(frozen=True)
class Reading:
    counters: Counters
    seconds: float


def read(settings: Settings, cache: PerfSchemaCache, pattern: str | None = None) -> Reading:
    """One `get_perf_counters` call on a fresh connection; only the call itself is timed."""

    async def run() -> Reading:
        async with open_client(settings) as ceph:
            started = time.monotonic()
            try:
                async with open_cluster_state(
                    max_age=settings.cache_max_age, stale_after=settings.cache_stale_after
                ) as state:
                    answer = await get_perf_counters(ClusterMaps(ceph, state), cache, pattern)
                return Reading(json.loads(answer.body), time.monotonic() - started)
            finally:
                await settle(ceph)

    return anyio.run(run)


async def settle(ceph: CephClient) -> None:
    """Wait (bounded by the Ceph timeout) for librados calls still running in threads.

    A call to a daemon that does not answer may outlive the request that started it; shutting
    the connection down under it would leave its thread blocked for good, and the test
    process could then never exit.
    """
    for _ in range(int((ceph.timeout + 5) / SETTLE_POLL)):
        if not ceph._limiter.borrowed_tokens:
            return
        await anyio.sleep(SETTLE_POLL)


def entries(cache: PerfSchemaCache) -> dict[str, tuple[int, Schema]]:
    """The cache's state: daemon name → (incarnation it was read at, merged schema)."""
    return dict(cache._entries)


def osd_info(cluster: DevCluster, osd_id: int) -> dict[str, Any]:
    osds = ceph_cli_json(cluster, "osd", "dump")["osds"]
    return next(o for o in osds if o["osd"] == osd_id)


def incarnations(cluster: DevCluster) -> dict[str, int]:
    """What each daemon's schema must be cached under: up_from for an up OSD, the election
    epoch for a mon in quorum."""
    quorum = ceph_cli_json(cluster, "quorum_status")
    osds = ceph_cli_json(cluster, "osd", "dump")["osds"]
    result = {f"mon.{name}": int(quorum["election_epoch"]) for name in quorum["quorum_names"]}
    result |= {f"osd.{o['osd']}": int(o["up_from"]) for o in osds if o["up"]}
    return result


def schema_paths(cluster: DevCluster, daemon: str) -> set[tuple[str, str]]:
    """Every counter of the daemon, as `ceph tell` lists them (histograms in their own schema)."""
    paths = set()
    for command in (("perf", "schema"), ("perf", "histogram", "schema")):
        for section, counters in ceph_cli_json(cluster, "tell", daemon, *command).items():
            paths |= {(section, name) for name in counters}
    return paths


def cached_paths(schema: Schema) -> set[tuple[str, str]]:
    return {(section, name) for section, counters in schema.items() for name in counters}


def osd_pid(cluster: DevCluster, osd_id: int) -> int:
    """The OSD's pid from its pid file, checked to be this cluster's daemon."""
    pid = dev_cluster._read_pid(cluster.directory / "run" / f"osd.{osd_id}.pid")
    assert pid is not None, f"osd.{osd_id} has no pid file"
    assert dev_cluster._is_ours(pid, cluster.conf), f"osd.{osd_id} (pid {pid}) is not running"
    return pid


@contextmanager
def osd_stopped(cluster: DevCluster, osd_id: int) -> Iterator[None]:
    """osd.N stopped and marked down for the body; started again after, and waited for."""
    old_up_from = int(osd_info(cluster, osd_id)["up_from"])
    pid = osd_pid(cluster, osd_id)
    try:
        survivors = dev_cluster._signal_and_wait({pid: f"osd.{osd_id}"}, cluster.conf)
        assert survivors == [], f"osd.{osd_id} did not stop"
        ceph_cli(cluster, "osd", "down", str(osd_id))
        wait_until(
            lambda: not osd_info(cluster, osd_id)["up"], f"osd.{osd_id} is down", OSD_WAIT, 0.2
        )
        yield
    finally:
        if not dev_cluster._is_ours(pid, cluster.conf):
            dev_cluster.start_osd(cluster, osd_id)

            def back_up() -> bool:
                info = osd_info(cluster, osd_id)
                return bool(info["up"]) and int(info["up_from"]) > old_up_from

            wait_until(back_up, f"osd.{osd_id} is up again", OSD_WAIT, 0.2)


@contextmanager
def osd_frozen(cluster: DevCluster, osd_id: int) -> Iterator[None]:
    """osd.N stopped with SIGSTOP: still up in the map, but it answers nothing."""
    pid = osd_pid(cluster, osd_id)
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


# -- the session cluster: reads only ----------------------------------------------------------


def test_daemon_filter_reads_and_caches_only_the_matching_daemon(
    settings: Settings, cluster: DevCluster
) -> None:
    cache = PerfSchemaCache()
    counters = read(settings, cache, "osd.0").counters
    assert list(counters) == ["osd.0"]
    assert counters["osd.0"]
    assert set(entries(cache)) == {"osd.0"}
    incarnation, schema = entries(cache)["osd.0"]
    assert incarnation == incarnations(cluster)["osd.0"]
    assert cached_paths(schema) == schema_paths(cluster, "osd.0")


@pytest.mark.parametrize("pattern", ["(", "osd[", "o" * 257])
def test_invalid_pattern_is_bad_request_and_leaves_the_cache_empty(
    settings: Settings, pattern: str
) -> None:
    cache = PerfSchemaCache()
    with pytest.raises(BadRequest):
        read(settings, cache, pattern)
    assert entries(cache) == {}
    assert len(cache) == 0


def test_second_call_reuses_the_cached_schemas(settings: Settings, cluster: DevCluster) -> None:
    cache = PerfSchemaCache()
    first = read(settings, cache).counters
    cached = entries(cache)
    expected = incarnations(cluster)
    assert set(first) == set(cached) == set(expected)
    assert {name: incarnation for name, (incarnation, _) in cached.items()} == expected

    second = read(settings, cache).counters
    assert {name: set(c) for name, c in second.items()} == {
        name: set(c) for name, c in first.items()
    }
    # Not one entry was replaced: the very same (incarnation, schema) objects are there.
    after = entries(cache)
    assert set(after) == set(cached)
    assert [name for name, entry in cached.items() if after[name] is not entry] == []


def test_cached_schema_that_no_longer_fits_the_dump_is_read_again(
    settings: Settings, cluster: DevCluster
) -> None:
    up_from = incarnations(cluster)["osd.0"]
    stale: Schema = {"osd": {"gone": {"type": 2, "priority": 10}}}
    cache = PerfSchemaCache()
    cache.put(PerfDaemon("osd", "0", up_from), stale)
    counters = read(settings, cache, "osd.0").counters
    assert "osd.gone" not in counters["osd.0"]
    assert "osd.op_latency" in counters["osd.0"]
    incarnation, schema = entries(cache)["osd.0"]
    assert incarnation == up_from
    assert schema is not stale
    assert cached_paths(schema) == schema_paths(cluster, "osd.0")


# -- a small cluster of this module's own: OSDs stopped and restarted ---------------------------


@pytest.fixture(scope="module")
def small_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevCluster]:
    directory = tmp_path_factory.mktemp("perf")
    try:
        yield dev_cluster.up(directory, osds=2)
    finally:
        dev_cluster.down(directory)


@pytest.fixture(scope="module")
def small_settings(small_cluster: DevCluster) -> Settings:
    return Settings(
        conf=small_cluster.conf,
        keyring=small_cluster.keyring,
        name="client.admin",
        mgr_name=small_cluster.mgr_name,
        ceph_timeout=SMALL_CEPH_TIMEOUT,
    )


def test_restarted_osd_has_its_schema_read_again(
    small_settings: Settings, small_cluster: DevCluster
) -> None:
    cache = PerfSchemaCache()
    assert set(read(small_settings, cache).counters) == {"mon.a", "osd.0", "osd.1"}
    before = entries(cache)
    old_up_from = before["osd.1"][0]

    with osd_stopped(small_cluster, 1):
        pass
    new_up_from = incarnations(small_cluster)["osd.1"]
    assert new_up_from > old_up_from

    counters = read(small_settings, cache).counters
    assert set(counters) == {"mon.a", "osd.0", "osd.1"}
    after = entries(cache)
    incarnation, schema = after["osd.1"]
    assert incarnation == new_up_from
    # Read again: a new schema object, under the new incarnation.
    replaced = [name for name, entry in before.items() if after[name] is not entry]
    assert replaced == ["osd.1"]
    assert cached_paths(schema) == schema_paths(small_cluster, "osd.1")


def test_down_osd_is_skipped_and_the_answer_stays_quick(
    small_settings: Settings, small_cluster: DevCluster, caplog: pytest.LogCaptureFixture
) -> None:
    cache = PerfSchemaCache()
    read(small_settings, cache)
    assert set(entries(cache)) == {"mon.a", "osd.0", "osd.1"}

    with osd_stopped(small_cluster, 1):
        with caplog.at_level(logging.WARNING, logger="app.ceph.perf"):
            reading = read(small_settings, cache)
        assert set(reading.counters) == {"mon.a", "osd.0"}
        assert reading.seconds < QUICK < SMALL_CEPH_TIMEOUT
        # Never asked (librados would have answered "osd down", and that is logged)...
        assert [r.getMessage() for r in caplog.records if "osd.1" in r.getMessage()] == []
        # ...and forgotten: it comes back as a new incarnation anyway.
        assert set(entries(cache)) == {"mon.a", "osd.0"}


def test_osd_that_does_not_answer_is_left_out_not_the_whole_answer(
    small_settings: Settings, small_cluster: DevCluster
) -> None:
    cache = PerfSchemaCache()
    read(small_settings, cache)
    with osd_frozen(small_cluster, 1):
        assert osd_info(small_cluster, 1)["up"]
        reading = read(small_settings, cache)
    assert set(reading.counters) == {"mon.a", "osd.0"}
    # It was asked, and given up on after cache_stale_after (the read waits no longer for
    # any map or counters; its librados call ends on its own, at the Ceph timeout).
    stale_after = small_settings.cache_stale_after
    assert stale_after - 0.1 <= reading.seconds < min(stale_after + 1, SMALL_CEPH_TIMEOUT)
    assert set(read(small_settings, cache).counters) == {"mon.a", "osd.0", "osd.1"}


def test_stats_threshold_from_the_config_and_its_default_when_unreadable(
    small_settings: Settings, small_cluster: DevCluster
) -> None:
    full = read(small_settings, PerfSchemaCache(), "osd.0").counters["osd.0"]
    assert any(c["priority"] < 9 for c in full.values())

    # A key that may read the OSD map, the quorum and the daemons' counters, not the config.
    keyring = small_cluster.directory / "client.perf-noconfig.keyring"
    ceph_cli(
        small_cluster,
        "auth", "get-or-create", "client.perf-noconfig",
        "mon",
        "allow service mon r, allow service osd r, allow service mgr r, "
        "allow command quorum_status, allow command \"perf dump\", "
        "allow command \"perf schema\", allow command \"perf histogram schema\"",
        "osd", "allow *",
        "-o", str(keyring),
    )  # fmt: skip
    no_config = small_settings.model_copy(
        update={"name": "client.perf-noconfig", "keyring": keyring}
    )

    ceph_cli(small_cluster, "config", "set", "mgr", "mgr_stats_threshold", "9")
    try:
        high = read(small_settings, PerfSchemaCache(), "osd.0").counters["osd.0"]
        assert high
        assert set(high) < set(full)
        assert all(c["priority"] >= 9 for c in high.values())
        # Not allowed to read the threshold: the default, not a failed request.
        assert set(read(no_config, PerfSchemaCache(), "osd.0").counters["osd.0"]) == set(full)
    finally:
        ceph_cli(small_cluster, "config", "rm", "mgr", "mgr_stats_threshold")
