"""GET /mon and /mon/{name} against a real cluster, checked with Ceph's own CLI."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from cli.dev_cluster import DevCluster
from tests.support import load_sample, wait_until
from tests.support.cluster import ceph_cli, ceph_cli_json

pytestmark = pytest.mark.integration


def module_keys() -> set[str]:
    return set(load_sample("GET_mon_a.json"))


def expected_mons(cluster: DevCluster) -> list[dict[str, Any]]:
    """The module's /mon, rebuilt from `ceph mon dump`, `quorum_status` and `mon metadata`."""
    mons: list[dict[str, Any]] = ceph_cli_json(cluster, "mon", "dump")["mons"]
    quorum = ceph_cli_json(cluster, "quorum_status")["quorum"]
    for mon in mons:
        location = mon.get("crush_location")
        if isinstance(location, list):  # Tentacle: [{"key": ..., "val": ...}]; Pacific's text
            pairs = sorted(f"{e['key']}={e['val']}" for e in location)
            mon["crush_location"] = "{" + ",".join(pairs) + "}"
        metadata = ceph_cli_json(cluster, "mon", "metadata", mon["name"])
        mon["in_quorum"] = mon["rank"] in quorum
        mon["leader"] = mon["rank"] == quorum[0]
        mon["server"] = metadata["hostname"]
    return mons


def test_list_mons_matches_the_monmap(
    client: TestClient, read_only_auth: tuple[str, str], cluster: DevCluster
) -> None:
    response = client.get("/mon", auth=read_only_auth)
    assert response.status_code == 200
    mons = response.json()
    assert mons == expected_mons(cluster)
    assert [m["name"] for m in mons] == ["a"]
    assert mons[0]["leader"] is True
    assert mons[0]["in_quorum"] is True
    # Ceph 16 gives exactly the module's keys; later releases may add some.
    assert module_keys() <= set(mons[0])


def test_get_mon_by_name(
    client: TestClient, admin_auth: tuple[str, str], cluster: DevCluster
) -> None:
    response = client.get("/mon/a", auth=admin_auth)
    assert response.status_code == 200
    mon = response.json()
    assert mon == expected_mons(cluster)[0]
    assert mon["server"] == ceph_cli_json(cluster, "mon", "metadata", "a")["hostname"]
    assert module_keys() <= set(mon)


def test_crush_location_is_the_same_text_on_every_release(
    client: TestClient, admin_auth: tuple[str, str], cluster: DevCluster
) -> None:
    """Pacific prints a mon's location as the text of a map, Tentacle as a list of pairs; the
    module's clients read the text."""
    ceph_cli(cluster, "mon", "set_location", "a", "host=h1", "datacenter=dc1")
    wait_until(
        lambda: (
            client.get("/mon/a", auth=admin_auth).json()["crush_location"]
            == "{datacenter=dc1,host=h1}"
        ),
        "GET /mon/a shows the new location",
        limit=30,
    )
    assert client.get("/mon", auth=admin_auth).json()[0]["crush_location"] == (
        "{datacenter=dc1,host=h1}"
    )


def test_unknown_mon_is_404_with_the_module_message(
    client: TestClient, admin_auth: tuple[str, str]
) -> None:
    response = client.get("/mon/zz", auth=admin_auth)
    assert response.status_code == 404
    assert response.json() == {"message": 'Failed to identify the monitor node "zz"'}
