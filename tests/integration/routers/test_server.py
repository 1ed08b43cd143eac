"""GET /server and /server/{fqdn} against a real cluster, checked with Ceph's own CLI."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from cli.dev_cluster import DevCluster
from tests.support.cluster import ceph_cli_json

pytestmark = pytest.mark.integration


def daemons_by_cli(cluster: DevCluster) -> dict[str, list[tuple[str, str, str]]]:
    """Host → sorted (type, id, version) of its daemons, from `ceph <type> metadata`."""
    hosts: dict[str, list[tuple[str, str, str]]] = {}
    for daemon_type, id_key in (("mon", "name"), ("mgr", "name"), ("osd", "id")):
        for metadata in ceph_cli_json(cluster, daemon_type, "metadata"):
            hosts.setdefault(metadata["hostname"], []).append(
                (daemon_type, str(metadata[id_key]), metadata["ceph_version"])
            )
    return {host: sorted(daemons) for host, daemons in hosts.items()}


def as_tuples(server: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(s["type"], s["id"], s["ceph_version"]) for s in server["services"]]


def test_list_servers_matches_the_daemon_metadata(
    client: TestClient, read_only_auth: tuple[str, str], cluster: DevCluster
) -> None:
    response = client.get("/server", auth=read_only_auth)
    assert response.status_code == 200
    servers = response.json()
    expected = daemons_by_cli(cluster)
    assert [s["hostname"] for s in servers] == sorted(expected)
    for server in servers:
        assert set(server) == {"hostname", "services", "ceph_version"}
        assert as_tuples(server) == expected[server["hostname"]]
        assert server["ceph_version"] == server["services"][-1]["ceph_version"]
        for service in server["services"]:
            assert set(service) == {"type", "id", "ceph_version"}
    osds = ceph_cli_json(cluster, "osd", "ls")
    listed = [s for server in servers for s in server["services"]]
    assert sorted(s["id"] for s in listed if s["type"] == "osd") == sorted(str(i) for i in osds)
    versions = ceph_cli_json(cluster, "versions")["overall"]
    assert sum(versions.values()) == len(listed)
    assert {s["ceph_version"] for s in listed} == set(versions)


def test_get_server_is_its_entry_of_the_list(
    client: TestClient, admin_auth: tuple[str, str], cluster: DevCluster
) -> None:
    host = ceph_cli_json(cluster, "mon", "metadata", "a")["hostname"]
    response = client.get(f"/server/{host}", auth=admin_auth)
    assert response.status_code == 200
    servers = client.get("/server", auth=admin_auth).json()
    assert response.json() == next(s for s in servers if s["hostname"] == host)
    assert ("mon", "a") in [(s["type"], s["id"]) for s in response.json()["services"]]


def test_unknown_server_is_an_empty_one_with_200_like_the_module(
    client: TestClient, admin_auth: tuple[str, str]
) -> None:
    response = client.get("/server/no-such-host.example.com", auth=admin_auth)
    assert response.status_code == 200
    assert response.json() == {
        "ceph_version": "",
        "hostname": "no-such-host.example.com",
        "services": [],
    }
