"""GET /pool and /pool/{id} against the real cluster, checked with Ceph's own CLI."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from cli.dev_cluster import DevCluster
from tests.support.cluster import ceph_cli_json

pytestmark = pytest.mark.integration


def _cli_pools(cluster: DevCluster) -> list[dict[str, Any]]:
    pools: list[dict[str, Any]] = ceph_cli_json(cluster, "osd", "dump")["pools"]
    return pools


def test_list_pools_matches_osd_dump(
    client: TestClient, cluster: DevCluster, admin_auth: tuple[str, str]
) -> None:
    r = client.get("/pool", auth=admin_auth)
    assert r.status_code == 200
    got = r.json()
    expected = _cli_pools(cluster)
    assert [p["pool"] for p in got] == [p["pool"] for p in expected]
    for shown, raw in zip(got, expected, strict=True):
        assert shown["pool_name"] == raw["pool_name"]
        assert shown["pgp_num"] == raw["pg_placement_num"]
        assert "pg_placement_num" not in shown
        assert (shown["size"], shown["min_size"], shown["pg_num"]) == (
            raw["size"],
            raw["min_size"],
            raw["pg_num"],
        )


def test_get_pool_by_id(
    client: TestClient, cluster: DevCluster, admin_auth: tuple[str, str]
) -> None:
    first = _cli_pools(cluster)[0]
    r = client.get(f"/pool/{first['pool']}", auth=admin_auth)
    assert r.status_code == 200
    assert r.json()["pool_name"] == first["pool_name"]
    assert r.json()["crush_rule"] == first["crush_rule"]


def test_read_only_key_may_list_pools(client: TestClient, read_only_auth: tuple[str, str]) -> None:
    r = client.get("/pool", auth=read_only_auth)
    assert r.status_code == 200
    assert all("pool_name" in p for p in r.json())


def test_unknown_pool_is_404_with_the_modules_message(
    client: TestClient, admin_auth: tuple[str, str]
) -> None:
    r = client.get("/pool/999", auth=admin_auth)
    assert r.status_code == 404
    assert r.json() == {"message": 'Failed to identify the pool id "999"'}


def test_non_integer_pool_id_is_400(client: TestClient, admin_auth: tuple[str, str]) -> None:
    r = client.get("/pool/abc", auth=admin_auth)
    assert r.status_code == 400
    assert "pool_id" in r.json()["message"]
