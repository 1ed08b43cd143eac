"""PATCH /config/osd against the real cluster: the flags as `ceph osd dump` shows them after.
Every test unsets the flags it may have set, whatever happens."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from cli.dev_cluster import DevCluster
from tests.support.cluster import ceph_cli, ceph_cli_json
from tests.support.jobs import assert_succeeded, commands_of, job_ids, wait_until_finished

pytestmark = pytest.mark.integration

Auth = tuple[str, str]

MODULE_FLAGS = [
    "pause",
    "noup",
    "nodown",
    "noout",
    "noin",
    "nobackfill",
    "norecover",
    "noscrub",
    "nodeep-scrub",
]


def cli_flags(cluster: DevCluster) -> set[str]:
    flags: str = ceph_cli_json(cluster, "osd", "dump")["flags"]
    return set(flags.split(","))


@pytest.fixture
def clean_flags(cluster: DevCluster) -> Iterator[set[str]]:
    """The flags before the test (none of the module's set); all of them unset at the end."""
    before = cli_flags(cluster)
    assert not before & {*MODULE_FLAGS, "pauserd", "pausewr"}, before
    try:
        yield before
    finally:
        now = cli_flags(cluster)
        if now & {"pauserd", "pausewr"}:
            ceph_cli(cluster, "osd", "unset", "pause")
        for flag in now & set(MODULE_FLAGS):
            ceph_cli(cluster, "osd", "unset", flag)
        assert cli_flags(cluster) == before


def test_set_then_unset_with_wait(
    client: TestClient, admin_auth: Auth, cluster: DevCluster, clean_flags: set[str]
) -> None:
    r = client.patch("/config/osd?wait=1", json={"noscrub": True, "noout": True}, auth=admin_auth)
    assert r.status_code == 200, r.text
    assert_succeeded(r.json())
    # One wave, in the module's flag order.
    assert commands_of(r.json(), "finished") in (
        ["osd set key=noout", "osd set key=noscrub"],
        ["osd set key=noscrub", "osd set key=noout"],
    )
    assert cli_flags(cluster) == clean_flags | {"noout", "noscrub"}
    assert {"noout", "noscrub"} <= set(client.get("/config/osd", auth=admin_auth).json())

    r = client.patch("/config/osd?wait=1", json={"noscrub": False, "noout": False}, auth=admin_auth)
    assert_succeeded(r.json())
    assert sorted(commands_of(r.json(), "finished")) == [
        "osd unset key=noout",
        "osd unset key=noscrub",
    ]
    assert cli_flags(cluster) == clean_flags


def test_pause_is_pauserd_and_pausewr(
    client: TestClient, admin_auth: Auth, cluster: DevCluster, clean_flags: set[str]
) -> None:
    r = client.patch("/config/osd?wait=1", json={"pause": True}, auth=admin_auth)
    assert_succeeded(r.json())
    assert r.json()["finished"][0]["outs"] == "pauserd,pausewr is set"
    assert cli_flags(cluster) == clean_flags | {"pauserd", "pausewr"}
    assert "pause" in client.get("/config/osd", auth=admin_auth).json()

    r = client.patch("/config/osd?wait=1", json={"pause": False}, auth=admin_auth)
    assert_succeeded(r.json())
    assert cli_flags(cluster) == clean_flags


def test_every_module_flag_without_wait_then_poll(
    client: TestClient, admin_auth: Auth, cluster: DevCluster, clean_flags: set[str]
) -> None:
    r = client.patch("/config/osd", json=dict.fromkeys(MODULE_FLAGS, True), auth=admin_auth)
    assert r.status_code == 200
    job = r.json()
    assert job["state"] == "pending"
    assert commands_of(job, "running") == [f"osd set key={flag}" for flag in MODULE_FLAGS]
    assert_succeeded(wait_until_finished(client, admin_auth, job["id"]))
    expected = (set(MODULE_FLAGS) - {"pause"}) | {"pauserd", "pausewr"}
    assert cli_flags(cluster) == clean_flags | expected

    r = client.patch("/config/osd?wait=1", json=dict.fromkeys(MODULE_FLAGS, False), auth=admin_auth)
    assert_succeeded(r.json())
    assert cli_flags(cluster) == clean_flags


def test_an_unknown_flag_is_400_and_nothing_is_applied(
    client: TestClient, admin_auth: Auth, cluster: DevCluster, clean_flags: set[str]
) -> None:
    before = job_ids(client, admin_auth)
    body = {"noout": True, "nodeep_scrub": True, "pauserd": True}
    r = client.patch("/config/osd?wait=1", json=body, auth=admin_auth)
    assert r.status_code == 400
    message = r.json()["message"]
    assert '"nodeep_scrub"' in message
    assert '"pauserd"' in message
    assert '"noout"' not in message
    assert cli_flags(cluster) == clean_flags
    assert job_ids(client, admin_auth) - before == set()


def test_values_must_be_booleans(
    client: TestClient, admin_auth: Auth, cluster: DevCluster, clean_flags: set[str]
) -> None:
    body = {"noout": "true", "noscrub": 1, "noin": None, "noup": True}
    r = client.patch("/config/osd?wait=1", json=body, auth=admin_auth)
    assert r.status_code == 422
    assert {tuple(e["loc"]) for e in r.json()["errors"]} == {
        ("body", "noout"),
        ("body", "noscrub"),
        ("body", "noin"),
    }
    assert client.patch("/config/osd", json=["noout"], auth=admin_auth).status_code == 422
    assert cli_flags(cluster) == clean_flags


def test_empty_body_is_an_empty_successful_job(client: TestClient, admin_auth: Auth) -> None:
    r = client.patch("/config/osd?wait=1", json={}, auth=admin_auth)
    assert r.status_code == 200
    assert (r.json()["state"], r.json()["finished"]) == ("success", [])


def test_needs_an_admin_key(
    client: TestClient, read_only_auth: Auth, cluster: DevCluster, clean_flags: set[str]
) -> None:
    r = client.patch("/config/osd?wait=1", json={"noout": True}, auth=read_only_auth)
    assert r.status_code == 403
    assert r.json()["message"]
    assert client.patch("/config/osd?wait=1", json={"noout": True}).status_code == 401
    assert cli_flags(cluster) == clean_flags
