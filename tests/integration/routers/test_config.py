"""GET /config/cluster, /config/cluster/{key}, /config/osd against a real cluster, checked
with Ceph's own CLI."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from cli.dev_cluster import DevCluster
from tests.support import wait_until
from tests.support.cluster import ceph_cli, ceph_cli_json

pytestmark = pytest.mark.integration


def active_mgr(cluster: DevCluster) -> str:
    name: str = ceph_cli_json(cluster, "mgr", "stat")["active_name"]
    return name


def test_cluster_config_is_the_active_mgrs_config(
    client: TestClient, read_only_auth: tuple[str, str], cluster: DevCluster
) -> None:
    response = client.get("/config/cluster", auth=read_only_auth)
    assert response.status_code == 200
    config = response.json()
    mgr = active_mgr(cluster)
    assert config == ceph_cli_json(cluster, "tell", f"mgr.{mgr}", "config", "show")
    assert config["name"] == f"mgr.{mgr}"
    assert config["fsid"] == cluster.fsid
    assert all(isinstance(v, str) for v in config.values())


@pytest.mark.parametrize("option", ["osd_pool_default_size", "mon_allow_pool_delete", "fsid"])
def test_one_option(
    client: TestClient, read_only_auth: tuple[str, str], cluster: DevCluster, option: str
) -> None:
    response = client.get(f"/config/cluster/{option}", auth=read_only_auth)
    assert response.status_code == 200
    mgr = active_mgr(cluster)
    value = ceph_cli(cluster, "tell", f"mgr.{mgr}", "config", "get", option, "--format", "json")
    # `config get` answers {"<option>": "<value>"}; ours is the bare JSON string, as the module.
    assert json.loads(value)[option] == response.json()
    assert isinstance(response.json(), str)


def test_unknown_option_is_404(client: TestClient, admin_auth: tuple[str, str]) -> None:
    # Deliberately unlike the module, which answers `null` with 200.
    response = client.get("/config/cluster/no_such_option", auth=admin_auth)
    assert response.status_code == 404
    assert response.json() == {
        "message": 'Failed to identify the configuration option "no_such_option"'
    }


def test_osd_flags_are_the_osd_map_flags(
    client: TestClient, read_only_auth: tuple[str, str], cluster: DevCluster
) -> None:
    response = client.get("/config/osd", auth=read_only_auth)
    assert response.status_code == 200
    flags = response.json()
    dump = ceph_cli_json(cluster, "osd", "dump")
    expected = set(dump["flags_set"])
    if {"pauserd", "pausewr"} <= expected:
        expected = (expected - {"pauserd", "pausewr"}) | {"pause"}
    assert set(flags) == expected
    assert "sortbitwise" in flags
    assert len(flags) == len(set(flags))


def test_a_flag_set_with_the_cli_shows(
    client: TestClient, admin_auth: tuple[str, str], cluster: DevCluster
) -> None:
    # noout only stops OSDs being marked out: harmless to the rest of the test session.
    # A change made elsewhere shows within cache_max_age (1 s), plus one refresh.
    def flags() -> list[str]:
        listed: list[str] = client.get("/config/osd", auth=admin_auth).json()
        return listed

    ceph_cli(cluster, "osd", "set", "noout")
    try:
        wait_until(lambda: "noout" in flags(), "GET /config/osd shows noout", 2.5, 0.05)
    finally:
        ceph_cli(cluster, "osd", "unset", "noout")
    wait_until(lambda: "noout" not in flags(), "GET /config/osd no longer shows noout", 2.5, 0.05)
