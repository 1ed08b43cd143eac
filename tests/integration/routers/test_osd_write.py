"""PATCH /osd/{id} and POST /osd/{id}/command against the real cluster: the jobs they start,
and the OSDs as Ceph's own CLI shows them afterwards. Every test leaves the OSDs up and in,
with reweight 1 and no noup flag, as it found them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi.testclient import TestClient

from cli.dev_cluster import DevCluster
from tests.support import wait_until
from tests.support.cluster import ceph_cli, ceph_cli_json
from tests.support.jobs import assert_succeeded, commands_of, job_ids, wait_until_finished

pytestmark = pytest.mark.integration

Auth = tuple[str, str]


def cli_osds(cluster: DevCluster) -> dict[int, dict[str, Any]]:
    return {o["osd"]: o for o in ceph_cli_json(cluster, "osd", "dump")["osds"]}


def cli_reweight(cluster: DevCluster, osd_id: int) -> float:
    nodes = ceph_cli_json(cluster, "osd", "tree")["nodes"]
    reweight: float = next(n["reweight"] for n in nodes if n["id"] == osd_id)
    return reweight


def all_up_and_in(cluster: DevCluster) -> bool:
    return all(o["up"] == 1 and o["in"] == 1 for o in cli_osds(cluster).values())


def restore_osds(cluster: DevCluster) -> None:
    """Back to what the other tests expect: no noup, every OSD in, reweight 1, all up."""
    ceph_cli(cluster, "osd", "unset", "noup")
    for osd_id, osd in cli_osds(cluster).items():
        if not osd["in"]:
            ceph_cli(cluster, "osd", "in", str(osd_id))
        if cli_reweight(cluster, osd_id) != 1.0:
            ceph_cli(cluster, "osd", "reweight", str(osd_id), "1.0")
    # An OSD that never comes back may have shut itself down (osd_max_markdown_count).
    wait_until(lambda: all_up_and_in(cluster), "every OSD is up and in again", limit=120)


@pytest.fixture(scope="module", autouse=True)
def markdowns_allowed(cluster: DevCluster) -> Iterator[None]:
    """An OSD marked down more than osd_max_markdown_count (5) times in 10 minutes shuts
    itself down for good, and every later test would find it down. The tests here mark OSDs
    down (each a different one, so that the count stays low once restored); the limit is
    raised meanwhile, and its setting removed at the end."""
    ceph_cli(cluster, "config", "set", "osd", "osd_max_markdown_count", "1000")
    try:
        yield
    finally:
        ceph_cli(cluster, "config", "rm", "osd", "osd_max_markdown_count")


@pytest.fixture
def osd_id(cluster: DevCluster) -> Iterator[int]:
    """The last OSD, restored at the end whatever the test did to it."""
    wait_until(lambda: all_up_and_in(cluster), "every OSD is up and in", limit=120)
    try:
        yield max(cli_osds(cluster))
    finally:
        restore_osds(cluster)


@contextmanager
def held_down(cluster: DevCluster, osd_id: int) -> Iterator[None]:
    """`osd_id` marked down, kept down by noup (its daemon runs on); up again at the end."""
    ceph_cli(cluster, "osd", "set", "noup")
    try:
        ceph_cli(cluster, "osd", "down", str(osd_id))
        wait_until(lambda: cli_osds(cluster)[osd_id]["up"] == 0, f"osd.{osd_id} is down")
        yield
    finally:
        restore_osds(cluster)


def unknown_osd_id(cluster: DevCluster) -> int:
    return max(cli_osds(cluster)) + 100


# -- PATCH /osd/{id} ---------------------------------------------------------------------------


def test_out_then_in_with_wait(
    client: TestClient, admin_auth: Auth, cluster: DevCluster, osd_id: int
) -> None:
    r = client.patch(f"/osd/{osd_id}?wait=1", json={"in": False}, auth=admin_auth)
    assert r.status_code == 200, r.text
    assert_succeeded(r.json())
    assert commands_of(r.json(), "finished") == [f"osd out ids=['{osd_id}']"]
    assert cli_osds(cluster)[osd_id]["in"] == 0
    assert client.get(f"/osd/{osd_id}", auth=admin_auth).json()["in"] == 0

    r = client.patch(f"/osd/{osd_id}?wait=1", json={"in": True}, auth=admin_auth)
    assert_succeeded(r.json())
    assert commands_of(r.json(), "finished") == [f"osd in ids=['{osd_id}']"]
    assert cli_osds(cluster)[osd_id]["in"] == 1


def test_reweight_with_wait(
    client: TestClient, admin_auth: Auth, cluster: DevCluster, osd_id: int
) -> None:
    r = client.patch(f"/osd/{osd_id}?wait=1", json={"reweight": 0.5}, auth=admin_auth)
    assert r.status_code == 200, r.text
    assert_succeeded(r.json())
    assert commands_of(r.json(), "finished") == [f"osd reweight id={osd_id} weight=0.5"]
    assert cli_reweight(cluster, osd_id) == pytest.approx(0.5)
    # An integral JSON number is sent as the float Ceph wants.
    r = client.patch(f"/osd/{osd_id}?wait=1", json={"reweight": 1}, auth=admin_auth)
    assert_succeeded(r.json())
    assert commands_of(r.json(), "finished") == [f"osd reweight id={osd_id} weight=1.0"]
    assert cli_reweight(cluster, osd_id) == pytest.approx(1.0)


def test_in_and_reweight_without_wait_then_poll(
    client: TestClient, admin_auth: Auth, cluster: DevCluster, osd_id: int
) -> None:
    ceph_cli(cluster, "osd", "out", str(osd_id))
    assert cli_reweight(cluster, osd_id) == 0.0
    r = client.patch(f"/osd/{osd_id}", json={"reweight": 0.75, "in": True}, auth=admin_auth)
    assert r.status_code == 200
    job = r.json()
    assert job["state"] == "pending"
    # `osd in` sets the weight to 1: the reweight follows it, in a second wave.
    assert commands_of(job, "running") == [f"osd in ids=['{osd_id}']"]
    assert job["waiting"] == [[f"osd reweight id={osd_id} weight=0.75"]]
    done = wait_until_finished(client, admin_auth, job["id"])
    assert_succeeded(done)
    assert commands_of(done, "finished") == [
        f"osd in ids=['{osd_id}']",
        f"osd reweight id={osd_id} weight=0.75",
    ]
    assert cli_osds(cluster)[osd_id]["in"] == 1
    assert cli_reweight(cluster, osd_id) == pytest.approx(0.75)


def test_out_with_a_reweight_is_400_and_nothing_is_applied(
    client: TestClient, admin_auth: Auth, cluster: DevCluster, osd_id: int
) -> None:
    r = client.patch(f"/osd/{osd_id}?wait=1", json={"in": False, "reweight": 0.5}, auth=admin_auth)
    assert r.status_code == 400
    assert "out sets its weight to 0" in r.json()["message"]
    assert cli_osds(cluster)[osd_id]["in"] == 1
    assert cli_reweight(cluster, osd_id) == pytest.approx(1.0)


def test_up_false_marks_it_down_and_it_comes_back_by_itself(
    client: TestClient, admin_auth: Auth, cluster: DevCluster
) -> None:
    # Not the last OSD (test_osd.py marks that one down): see `markdowns_allowed`.
    osd_id = sorted(cli_osds(cluster))[-2]
    before = cli_osds(cluster)[osd_id]
    ceph_cli(cluster, "osd", "set", "noup")  # so that it stays down to be seen
    try:
        r = client.patch(f"/osd/{osd_id}?wait=1", json={"up": False}, auth=admin_auth)
        assert r.status_code == 200, r.text
        assert_succeeded(r.json())
        assert commands_of(r.json(), "finished") == [f"osd down ids=['{osd_id}']"]
        assert cli_osds(cluster)[osd_id]["up"] == 0
        assert client.get(f"/osd/{osd_id}/command", auth=admin_auth).json() == []
    finally:
        ceph_cli(cluster, "osd", "unset", "noup")
    # Its daemon runs on, sees it was wrongly marked down and boots again: a new up_from.
    wait_until(lambda: cli_osds(cluster)[osd_id]["up"] == 1, f"osd.{osd_id} is up again")
    after = cli_osds(cluster)[osd_id]
    assert after["up_from"] > before["up_from"]
    assert after["down_at"] > before["down_at"]
    assert after["in"] == 1


def test_up_true_is_400_and_nothing_is_applied(
    client: TestClient, admin_auth: Auth, cluster: DevCluster, osd_id: int
) -> None:
    before = job_ids(client, admin_auth)
    r = client.patch(
        f"/osd/{osd_id}?wait=1", json={"in": False, "up": True, "reweight": 0.5}, auth=admin_auth
    )
    assert r.status_code == 400
    assert r.json() == {"message": "It is not valid to set a down OSD to be up"}
    assert cli_osds(cluster)[osd_id]["in"] == 1
    assert cli_reweight(cluster, osd_id) == pytest.approx(1.0)
    assert job_ids(client, admin_auth) - before == set()


def test_update_lists_every_problem_and_applies_nothing(
    client: TestClient, admin_auth: Auth, cluster: DevCluster, osd_id: int
) -> None:
    before = job_ids(client, admin_auth)
    body = {"in": "no", "up": 0, "reweight": 1.5, "weight": 0.5}
    r = client.patch(f"/osd/{osd_id}?wait=1", json=body, auth=admin_auth)
    assert r.status_code == 422
    assert {tuple(e["loc"]) for e in r.json()["errors"]} == {
        ("body", "in"),
        ("body", "up"),
        ("body", "reweight"),
        ("body", "weight"),
    }
    for bad in ({"reweight": -0.1}, {"reweight": "0.5"}, {"in": None}):
        assert client.patch(f"/osd/{osd_id}", json=bad, auth=admin_auth).status_code == 422
    assert cli_osds(cluster)[osd_id]["in"] == 1
    assert cli_osds(cluster)[osd_id]["up"] == 1
    assert cli_reweight(cluster, osd_id) == pytest.approx(1.0)
    assert job_ids(client, admin_auth) - before == set()


def test_update_unknown_osd_is_404_before_any_job(
    client: TestClient, admin_auth: Auth, cluster: DevCluster
) -> None:
    before = job_ids(client, admin_auth)
    osd_id = unknown_osd_id(cluster)
    r = client.patch(f"/osd/{osd_id}?wait=1", json={"in": False}, auth=admin_auth)
    assert r.status_code == 404
    assert r.json() == {"message": f'Failed to identify the OSD id "{osd_id}"'}
    assert job_ids(client, admin_auth) - before == set()
    assert client.patch("/osd/abc", json={"in": True}, auth=admin_auth).status_code == 400


def test_update_needs_an_admin_key(
    client: TestClient, read_only_auth: Auth, cluster: DevCluster, osd_id: int
) -> None:
    r = client.patch(f"/osd/{osd_id}?wait=1", json={"in": False}, auth=read_only_auth)
    assert r.status_code == 403
    assert r.json()["message"]
    assert client.patch(f"/osd/{osd_id}?wait=1", json={"in": False}).status_code == 401
    assert cli_osds(cluster)[osd_id]["in"] == 1


# -- POST /osd/{id}/command --------------------------------------------------------------------


@pytest.mark.parametrize("command", ["scrub", "deep-scrub", "repair"])
def test_command_on_an_up_osd_with_wait(
    client: TestClient, admin_auth: Auth, cluster: DevCluster, command: str
) -> None:
    r = client.post("/osd/0/command?wait=1", json={"command": command}, auth=admin_auth)
    assert r.status_code == 200, r.text
    job = r.json()
    assert_succeeded(job)
    assert commands_of(job, "finished") == [f"osd {command} who=0"]
    assert job["finished"][0]["outs"] == f"instructed osd(s) 0 to {command}"


def test_command_without_wait_then_poll(client: TestClient, admin_auth: Auth) -> None:
    r = client.post("/osd/1/command", json={"command": "scrub"}, auth=admin_auth)
    assert r.status_code == 200
    assert commands_of(r.json(), "running") == ["osd scrub who=1"]
    done = wait_until_finished(client, admin_auth, r.json()["id"])
    assert_succeeded(done)
    assert done["finished"][0]["outs"] == "instructed osd(s) 1 to scrub"


def test_command_on_a_down_osd_is_409(
    client: TestClient, admin_auth: Auth, cluster: DevCluster
) -> None:
    # The first OSD: markdowns spread over the OSDs (see `markdowns_allowed`).
    osd_id = min(cli_osds(cluster))
    with held_down(cluster, osd_id):
        before = job_ids(client, admin_auth)
        r = client.post(f"/osd/{osd_id}/command?wait=1", json={"command": "scrub"}, auth=admin_auth)
        assert r.status_code == 409
        assert r.json() == {"message": f'Command "scrub" not available: osd.{osd_id} is not up'}
        assert job_ids(client, admin_auth) - before == set()
    assert cli_osds(cluster)[osd_id]["up"] == 1


def test_command_refusals(
    client: TestClient, admin_auth: Auth, read_only_auth: Auth, cluster: DevCluster
) -> None:
    before = job_ids(client, admin_auth)
    osd_id = unknown_osd_id(cluster)
    r = client.post(f"/osd/{osd_id}/command", json={"command": "scrub"}, auth=admin_auth)
    assert r.status_code == 404
    assert r.json() == {"message": f'Failed to identify the OSD id "{osd_id}"'}
    for bad in ({"command": "compact"}, {}, {"command": "scrub", "who": "all"}):
        r = client.post("/osd/0/command", json=bad, auth=admin_auth)
        assert r.status_code == 422
        assert r.json()["errors"]
    r = client.post("/osd/0/command", json={"command": "scrub"}, auth=read_only_auth)
    assert r.status_code == 403
    assert client.post("/osd/0/command", json={"command": "scrub"}).status_code == 401
    assert job_ids(client, admin_auth) - before == set()
