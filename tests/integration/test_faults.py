"""Daemons killed under a gateway, on a cluster of their own (three mons, one OSD): the mgr
here; one mon of three in tests/integration/ceph/test_state.py, beside the cache that rides
it out.

Without an active mgr, a command for it answers 503 at once with a clear message (it would
otherwise wait out its whole timeout for one); what was read from it before is answered
from its last value, marked stale; the rest, served from the mons' maps, answers as before.
"""

from __future__ import annotations

import time

import pytest

from app.routers.route import STALE_WARNING
from app.settings import Settings
from cli import dev_cluster
from cli.dev_cluster import DevCluster
from tests.support import ask_until
from tests.support.cluster import ceph_cli, ceph_cli_json
from tests.support.jobs import OSD_STAT
from tests.support.server import gateway

pytestmark = pytest.mark.integration

NO_MGR = (
    "no mgr is active (the cluster's mgr map has none): this needs the active mgr; it "
    "answers again once a mgr is active"
)
# Read from the mons' maps, which need no mgr.
MON_READS = ("/osd", "/osd/0", "/pool", "/mon", "/crush/rule", "/config/osd")


@pytest.mark.timeout(300)
def test_without_a_mgr_what_needs_one_is_503_at_once_and_the_rest_answers(
    three_mons: DevCluster, three_mons_admin: tuple[Settings, tuple[str, str]]
) -> None:
    settings, auth = three_mons_admin
    with gateway(settings, auth) as client:
        known_config = client.get("/config/cluster", auth=auth).json()
        dev_cluster.stop_mgr(three_mons, kill=True)
        try:
            # What the mon does by itself once mgr_beacon_grace (30 s) passed without a beacon.
            ceph_cli(three_mons, "mgr", "fail", three_mons.mgr_name)
            ask_until(
                lambda: ceph_cli_json(three_mons, "mgr", "stat"),
                lambda stat: not stat["available"],
                "the mgr map has no active mgr",
            )
            before = client.get("/request", auth=auth).json()
            started = time.monotonic()
            job = client.post("/request?wait=1", json={"prefix": "osd perf"}, auth=auth)
            took = time.monotonic() - started
            assert job.status_code == 503, job.text
            assert took < 3, (took, job.text)
            assert job.json() == {"message": NO_MGR}
            assert job.headers["retry-after"] == "5"
            # The module's own route to a mgr command (`osd scrub`, served by the mgr) too.
            started = time.monotonic()
            scrub = client.post("/osd/0/command?wait=1", json={"command": "scrub"}, auth=auth)
            took = time.monotonic() - started
            assert (scrub.status_code, scrub.json()) == (503, {"message": NO_MGR}), scrub.text
            assert took < 3, (took, scrub.text)
            assert client.get("/request", auth=auth).json() == before  # no job was made
            # The mgr's configuration was read before: its last value (marked stale once it
            # is older than cache_max_age and a refresh failed).
            config = client.get("/config/cluster", auth=auth)
            assert config.status_code == 200, config.text[:300]
            assert config.headers.get("warning", STALE_WARNING) == STALE_WARNING
            assert config.json() == known_config
            # /server lists the hosts and their mons and OSDs from the mons' metadata; the
            # mgr's service map (rgw and such) is what it lacks.
            servers = client.get("/server", auth=auth)
            assert servers.status_code == 200, servers.text
            types = {s["type"] for host in servers.json() for s in host["services"]}
            assert {"mon", "osd"} <= types
            for path in MON_READS:
                r = client.get(path, auth=auth)
                assert r.status_code == 200, f"{path}: {r.status_code} {r.text[:200]}"
            mon_job = client.post("/request?wait=1", json=OSD_STAT, auth=auth)
            assert mon_job.json()["state"] == "success", mon_job.text
        finally:
            dev_cluster.start_mgr(three_mons)
        # Back by itself once a mgr is active again: fresh answers, no warning.
        ask_until(
            lambda: client.get("/config/cluster", auth=auth),
            lambda r: r.status_code == 200 and "warning" not in r.headers,
            "GET /config/cluster answers fresh again",
            limit=90,
            show=lambda r: f"{r.status_code} {dict(r.headers)} {r.text[:200]}",
        )
        # The map shows the new mgr available once its modules loaded, a moment later.
        job = ask_until(
            lambda: client.post("/request?wait=1", json={"prefix": "osd perf"}, auth=auth),
            lambda r: r.status_code == 200,
            "POST /request of a mgr command answers 200 again",
            limit=90,
            show=lambda r: f"{r.status_code} {r.text[:200]}",
        )
        assert job.json()["state"] == "success", job.text


@pytest.mark.timeout(300)
def test_a_killed_osd_shows_down_once_the_cluster_says_so_and_up_once_back(
    three_mons: DevCluster, three_mons_admin: tuple[Settings, tuple[str, str]]
) -> None:
    settings, auth = three_mons_admin

    def osd_0() -> tuple[int, int]:
        r = client.get("/osd/0", auth=auth)
        assert r.status_code == 200, r.text
        return r.json()["up"], r.json()["in"]

    with gateway(settings, auth) as client:
        assert osd_0() == (1, 1)
        dev_cluster.stop_osd(three_mons, 0, kill=True)
        try:
            # Its only peers would report it; alone, the mon is told, as they would tell it.
            ceph_cli(three_mons, "osd", "down", "0")
            said_at = time.monotonic()
            ask_until(osd_0, lambda state: state[0] == 0, "GET /osd/0 shows it down", limit=10)
            # Within the cache's max age (1 s) of the map that says so, give or take a read.
            assert time.monotonic() - said_at < 3
            listed = client.get("/osd", auth=auth).json()
            assert [(o["osd"], o["up"]) for o in listed] == [(0, 0)]
        finally:
            dev_cluster.start_osd(three_mons, 0)
        ask_until(osd_0, lambda state: state == (1, 1), "GET /osd/0 shows it up", limit=120)
