"""GET /osd, /osd?pool=, /osd/{id}, /osd/{id}/command against a real cluster, checked with
Ceph's own CLI."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from cli.dev_cluster import DevCluster
from tests.support import wait_until
from tests.support.cluster import ceph_cli, ceph_cli_json

pytestmark = pytest.mark.integration

ALL_COMMANDS = ["scrub", "deep-scrub", "repair"]
FIRSTN_OPS = {"choose_firstn", "chooseleaf_firstn"}


def osds_under(cluster: DevCluster, bucket_name: str) -> set[int]:
    """Every OSD under a CRUSH bucket, as Ceph itself lists them."""
    return {int(i) for i in ceph_cli_json(cluster, "osd", "ls-tree", bucket_name)}


def expected_pool_osds(cluster: DevCluster, pool: dict[str, Any]) -> set[int]:
    """The OSDs the module's walk finds for `pool`, from Ceph's CLI: for a rule made of
    take/choose*_firstn/emit steps (what Ceph creates for replicated pools, with every OSD
    under a host), every OSD under its take buckets; for erasure-coded (indep) rules, none."""
    rules = ceph_cli_json(cluster, "osd", "crush", "rule", "dump")
    rule = next(r for r in rules if r["rule_id"] == pool["crush_rule"])
    ops = {s["op"] for s in rule["steps"]}
    if not ops & FIRSTN_OPS:
        return set()
    osds: set[int] = set()
    for step in rule["steps"]:
        if step["op"] == "take":
            osds |= osds_under(cluster, step["item_name"])
    return osds


@pytest.fixture(scope="module")
def osd_dump(cluster: DevCluster) -> dict[str, Any]:
    dump: dict[str, Any] = ceph_cli_json(cluster, "osd", "dump")
    return dump


def test_list_osds_matches_the_osd_map(
    client: TestClient, read_only_auth: tuple[str, str], cluster: DevCluster
) -> None:
    response = client.get("/osd", auth=read_only_auth)
    assert response.status_code == 200
    osds = response.json()
    dump = ceph_cli_json(cluster, "osd", "dump")
    assert [o["osd"] for o in osds] == [o["osd"] for o in dump["osds"]]
    assert len(osds) >= 1
    for ours, theirs in zip(osds, dump["osds"], strict=True):
        for key in ("uuid", "up", "in", "public_addr", "cluster_addr", "state", "public_addrs"):
            assert ours[key] == theirs[key], (ours["osd"], key)
        for key in ("weight", "primary_affinity"):
            # Same value, but always a JSON float, as the module prints it.
            assert ours[key] == pytest.approx(theirs[key]), (ours["osd"], key)
            assert isinstance(ours[key], float), (ours["osd"], key)
        assert type(ours["up"]) is int
        assert type(ours["in"]) is int
        assert ours["valid_commands"] == (ALL_COMMANDS if theirs["up"] else [])


def test_list_osds_reweight_server_and_pools(
    client: TestClient, admin_auth: tuple[str, str], cluster: DevCluster
) -> None:
    osds = {o["osd"]: o for o in client.get("/osd", auth=admin_auth).json()}
    tree = ceph_cli_json(cluster, "osd", "tree")
    reweight = {n["id"]: n["reweight"] for n in tree["nodes"] if n["id"] >= 0}
    metadata = {m["id"]: m["hostname"] for m in ceph_cli_json(cluster, "osd", "metadata")}
    for osd_id, osd in osds.items():
        assert isinstance(osd["reweight"], float)
        assert osd["reweight"] == pytest.approx(reweight[osd_id])
        assert osd["server"] == metadata[osd_id]

    pools = ceph_cli_json(cluster, "osd", "dump")["pools"]
    assert pools, "a dev cluster has at least the mgr's device_health_metrics pool"
    for pool in pools:
        reaching = {i for i, o in osds.items() if pool["pool"] in o["pools"]}
        assert reaching == expected_pool_osds(cluster, pool) & set(osds), pool["pool_name"]
    for osd in osds.values():
        assert osd["pools"] == sorted(osd["pools"])


def test_pool_filter(client: TestClient, admin_auth: tuple[str, str], cluster: DevCluster) -> None:
    all_osds = client.get("/osd", auth=admin_auth).json()
    pools = ceph_cli_json(cluster, "osd", "dump")["pools"]
    for pool in pools:
        response = client.get("/osd", params={"pool": pool["pool"]}, auth=admin_auth)
        assert response.status_code == 200
        expected = [o["osd"] for o in all_osds if pool["pool"] in o["pools"]]
        assert [o["osd"] for o in response.json()] == expected
        assert set(expected) == expected_pool_osds(cluster, pool) & {o["osd"] for o in all_osds}
    unknown = max(p["pool"] for p in pools) + 1000
    response = client.get("/osd", params={"pool": unknown}, auth=admin_auth)
    assert response.status_code == 200
    assert response.json() == []


def test_empty_pool_filter_lists_every_osd(
    client: TestClient, admin_auth: tuple[str, str], osd_dump: dict[str, Any]
) -> None:
    # The module filters only on a non-empty value.
    response = client.get("/osd?pool=", auth=admin_auth)
    assert response.status_code == 200
    assert [o["osd"] for o in response.json()] == [o["osd"] for o in osd_dump["osds"]]


def test_get_each_osd(
    client: TestClient, read_only_auth: tuple[str, str], cluster: DevCluster
) -> None:
    dump = ceph_cli_json(cluster, "osd", "dump")
    listed = {o["osd"]: o for o in client.get("/osd", auth=read_only_auth).json()}
    for theirs in dump["osds"]:
        response = client.get(f"/osd/{theirs['osd']}", auth=read_only_auth)
        assert response.status_code == 200
        osd = response.json()
        assert osd["osd"] == theirs["osd"]
        assert osd["uuid"] == theirs["uuid"]
        assert osd["up"] == theirs["up"]
        assert osd["in"] == theirs["in"]
        assert osd["pools"] == listed[theirs["osd"]]["pools"]
        assert set(osd) == set(listed[theirs["osd"]])


def test_osd_commands(
    client: TestClient, read_only_auth: tuple[str, str], cluster: DevCluster
) -> None:
    for theirs in ceph_cli_json(cluster, "osd", "dump")["osds"]:
        response = client.get(f"/osd/{theirs['osd']}/command", auth=read_only_auth)
        assert response.status_code == 200
        assert response.json() == (ALL_COMMANDS if theirs["up"] else [])


def test_down_osd_has_no_commands(
    client: TestClient, admin_auth: tuple[str, str], cluster: DevCluster
) -> None:
    """Mark the last OSD down (noup keeps it down), then let it come back."""
    osd_id = ceph_cli_json(cluster, "osd", "dump")["osds"][-1]["osd"]
    ceph_cli(cluster, "osd", "set", "noup")
    try:
        ceph_cli(cluster, "osd", "down", str(osd_id))
        assert client.get(f"/osd/{osd_id}/command", auth=admin_auth).json() == []
        osd = client.get(f"/osd/{osd_id}", auth=admin_auth).json()
        assert (osd["up"], osd["valid_commands"]) == (0, [])
        assert "up" not in osd["state"]
    finally:
        ceph_cli(cluster, "osd", "unset", "noup")
    wait_until(
        lambda: client.get(f"/osd/{osd_id}", auth=admin_auth).json()["up"] == 1,
        f"osd.{osd_id} is up again",
        limit=60,
        interval=0.5,
    )


@pytest.mark.parametrize("suffix", ["", "/command"])
def test_unknown_osd_is_404_with_the_module_message(
    client: TestClient, admin_auth: tuple[str, str], osd_dump: dict[str, Any], suffix: str
) -> None:
    unknown = osd_dump["max_osd"] + 100
    response = client.get(f"/osd/{unknown}{suffix}", auth=admin_auth)
    assert response.status_code == 404
    assert response.json() == {"message": f'Failed to identify the OSD id "{unknown}"'}


@pytest.mark.parametrize("path", ["/osd/abc", "/osd/1.5", "/osd/abc/command", "/osd?pool=abc"])
def test_non_integer_ids_are_400(
    client: TestClient, admin_auth: tuple[str, str], path: str
) -> None:
    response = client.get(path, auth=admin_auth)
    assert response.status_code == 400
    assert isinstance(response.json()["message"], str)
    assert response.json()["message"]
