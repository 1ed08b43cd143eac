"""The cluster-state cache on a real cluster: reads served from it say how old they are, a
change made elsewhere shows within `cache_max_age`, a write made through the gateway shows at
once, and its refreshes cost an epoch check while nothing changes."""

from __future__ import annotations

import subprocess
import threading
import time

import pytest
from fastapi.testclient import TestClient

from app.settings import Settings
from cli import dev_cluster
from cli.dev_cluster import DevCluster
from tests.support import TEST_POOL, wait_until
from tests.support.cluster import ceph_cli, ceph_cli_json
from tests.support.metrics import total
from tests.support.server import gateway

pytestmark = pytest.mark.integration

Auth = tuple[str, str]
COMMANDS = "cephgw_ceph_command_duration_seconds_count"


def metric(client: TestClient, auth: Auth, name: str, **labels: str) -> float:
    """The sum of a metric's samples with these labels (0 when there is none)."""
    return total(client.get("/metrics", auth=auth).text, name, **labels)


def pool_id(client: TestClient, auth: Auth) -> int:
    pools = client.get("/pool", auth=auth).json()
    return int(next(p["pool"] for p in pools if p["pool_name"] == TEST_POOL))


def test_a_read_from_the_cache_says_its_age_and_asks_nothing(
    settings: Settings, admin_auth: Auth
) -> None:
    with gateway(settings, admin_auth, cache_max_age=60.0) as client:
        first = client.get("/osd", auth=admin_auth)
        dumps = metric(client, admin_auth, COMMANDS, prefix="osd dump")
        stats = metric(client, admin_auth, COMMANDS, prefix="osd stat")
        hits = metric(client, admin_auth, "cephgw_cache_events_total", map="OSD map", event="hit")
        time.sleep(1.1)
        again = client.get("/osd", auth=admin_auth)
        assert again.content == first.content
        assert int(again.headers["age"]) >= 1
        assert "warning" not in again.headers
        assert metric(client, admin_auth, COMMANDS, prefix="osd dump") == dumps
        assert metric(client, admin_auth, COMMANDS, prefix="osd stat") == stats
        assert (
            metric(client, admin_auth, "cephgw_cache_events_total", map="OSD map", event="hit")
            == hits + 1
        )
        assert metric(client, admin_auth, "cephgw_cache_age_seconds", map="OSD map") >= 1


def test_past_its_age_a_map_that_did_not_change_costs_an_epoch_check(
    settings: Settings, admin_auth: Auth
) -> None:
    with gateway(settings, admin_auth, cache_max_age=0.0) as client:
        client.get("/osd", auth=admin_auth)
        dumps = metric(client, admin_auth, COMMANDS, prefix="osd dump")
        stats = metric(client, admin_auth, COMMANDS, prefix="osd stat")
        for _ in range(3):
            r = client.get("/osd", auth=admin_auth)
            assert r.headers["age"] == "0"
        assert metric(client, admin_auth, COMMANDS, prefix="osd stat") >= stats + 3
        assert metric(client, admin_auth, COMMANDS, prefix="osd dump") == dumps


def test_a_write_through_the_gateway_shows_at_once(
    settings: Settings, admin_auth: Auth, cluster: DevCluster
) -> None:
    # A long max age: only the write's invalidation can make the change show.
    with gateway(settings, admin_auth, cache_max_age=3600.0) as client:
        pid = pool_id(client, admin_auth)
        before = client.get(f"/pool/{pid}", auth=admin_auth).json()["quota_max_objects"]
        wanted = before + 1000
        try:
            r = client.patch(
                f"/pool/{pid}?wait=1", json={"quota_max_objects": wanted}, auth=admin_auth
            )
            assert r.json()["state"] == "success", r.text
            assert client.get(f"/pool/{pid}", auth=admin_auth).json()["quota_max_objects"] == wanted
            flags = client.patch("/config/osd?wait=1", json={"noscrub": True}, auth=admin_auth)
            assert flags.json()["state"] == "success", flags.text
            assert "noscrub" in client.get("/config/osd", auth=admin_auth).json()
        finally:
            ceph_cli(cluster, "osd", "unset", "noscrub")
            ceph_cli(cluster, "osd", "pool", "set-quota", TEST_POOL, "max_objects", str(before))


def test_a_change_made_elsewhere_shows_within_the_max_age(
    settings: Settings, admin_auth: Auth, cluster: DevCluster
) -> None:
    with gateway(settings, admin_auth, cache_max_age=1.0) as client:
        pid = pool_id(client, admin_auth)
        before = client.get(f"/pool/{pid}", auth=admin_auth).json()["quota_max_bytes"]
        wanted = before + 4096
        try:
            ceph_cli(cluster, "osd", "pool", "set-quota", TEST_POOL, "max_bytes", str(wanted))
            changed_at = time.monotonic()
            wait_until(
                lambda: (
                    client.get(f"/pool/{pid}", auth=admin_auth).json()["quota_max_bytes"] == wanted
                ),
                "the gateway shows the change made with the ceph CLI",
                limit=10,
                interval=0.05,
            )
            # The max age, plus one refresh.
            assert time.monotonic() - changed_at < 2.5
        finally:
            ceph_cli(cluster, "osd", "pool", "set-quota", TEST_POOL, "max_bytes", str(before))


def test_reads_of_one_osd_and_of_the_pools_are_views_of_one_map(
    settings: Settings, admin_auth: Auth, cluster: DevCluster
) -> None:
    with gateway(settings, admin_auth) as client:
        osds = client.get("/osd", auth=admin_auth).json()
        for osd in osds:
            assert client.get(f"/osd/{osd['osd']}", auth=admin_auth).json() == osd
        epoch = ceph_cli_json(cluster, "osd", "dump")["epoch"]
        assert isinstance(epoch, int)
        assert [p["pool_name"] for p in client.get("/pool", auth=admin_auth).json()] == [
            p["pool_name"] for p in ceph_cli_json(cluster, "osd", "dump")["pools"]
        ]


# -- one mon of three lost under load ------------------------------------------------------------


def quorum_leader(cluster: DevCluster) -> str:
    leader: str = ceph_cli_json(cluster, "quorum_status")["quorum_leader_name"]
    return leader


def quorum_without(cluster: DevCluster, lost: str) -> bool:
    """Whether the mons left form a quorum without `lost` (False while the CLI itself gets no
    answer, as during the election)."""
    try:
        names = ceph_cli_json(cluster, "quorum_status")["quorum_names"]
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
        return False
    return lost not in names


@pytest.mark.timeout(600)
def test_one_mon_of_three_lost_under_load_costs_no_error_and_under_a_second(
    three_mons: DevCluster, three_mons_admin: tuple[Settings, Auth]
) -> None:
    settings, auth = three_mons_admin
    latencies: list[float] = []
    failures: list[str] = []
    stop = threading.Event()
    with gateway(settings, auth) as client:

        def load() -> None:
            paths = ("/osd", "/pool", "/mon", "/crush/rule", "/config/osd")
            while not stop.is_set():
                for path in paths:
                    started = time.monotonic()
                    r = client.get(path, auth=auth)
                    latencies.append(time.monotonic() - started)
                    if r.status_code != 200:
                        failures.append(f"{path}: {r.status_code} {r.text[:200]}")

        worker = threading.Thread(target=load)
        worker.start()
        try:
            time.sleep(3)
            baseline = max(latencies)
            lost = quorum_leader(three_mons)
            dev_cluster.stop_mon(three_mons, lost, kill=True)
            since = len(latencies)
            # A new quorum of two takes its lease timeout and an election (~15 s here).
            wait_until(
                lambda: quorum_without(three_mons, lost),
                "the two mons left form a quorum",
                limit=90,
            )
            time.sleep(3)
        finally:
            stop.set()
            worker.join(timeout=60)
        during = latencies[since:]
    dev_cluster.start_mon(three_mons, lost)
    assert not failures, failures[:5]
    assert len(during) > 20
    # Reads are answered from the maps known while the mons vote; none waits past
    # cache_stale_after (1 s) for it.
    assert max(during) < baseline + 1.0 + 0.5, (max(during), baseline)
