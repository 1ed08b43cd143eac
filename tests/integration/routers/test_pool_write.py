"""POST /pool, PATCH and DELETE /pool/{id} against the real cluster: the jobs they start, and
the pools as Ceph's own CLI shows them afterwards."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.settings import Settings
from cli.dev_cluster import DevCluster
from tests.support.cluster import ceph_cli, ceph_cli_json
from tests.support.jobs import assert_succeeded, commands_of, job_ids, wait_until_finished
from tests.support.server import gateway

pytestmark = pytest.mark.integration

Auth = tuple[str, str]


# -- helpers -----------------------------------------------------------------------------------


def unique_name(what: str) -> str:
    return f"h-write-{what}-{uuid.uuid4().hex[:8]}"


def cli_pools(cluster: DevCluster) -> dict[str, dict[str, Any]]:
    """Every pool by name, from `ceph osd pool ls detail`."""
    pools: list[dict[str, Any]] = ceph_cli_json(cluster, "osd", "pool", "ls", "detail")
    return {p["pool_name"]: p for p in pools}


def cli_pool(cluster: DevCluster, name: str) -> dict[str, Any]:
    pools = cli_pools(cluster)
    assert name in pools, f"no pool {name} in {sorted(pools)}"
    return pools[name]


def delete_pool_cli(cluster: DevCluster, name: str) -> None:
    if name in cli_pools(cluster):
        ceph_cli(cluster, "osd", "pool", "rm", name, name, "--yes-i-really-really-mean-it")


@contextmanager
def created_pool(cluster: DevCluster, name: str | None = None) -> Iterator[tuple[int, str]]:
    """A pool made with Ceph's CLI (8 PGs, the autoscaler off so pg_num stays as set);
    yields (id, name) and removes it at the end."""
    name = name or unique_name("pool")
    ceph_cli(cluster, "osd", "pool", "create", name, "8", "8", "--autoscale-mode=off")
    try:
        yield cli_pool(cluster, name)["pool_id"], name
    finally:
        delete_pool_cli(cluster, name)


@contextmanager
def removed_at_end(cluster: DevCluster, name: str) -> Iterator[str]:
    """For pools the test makes through the gateway: removed even when the test fails."""
    try:
        yield name
    finally:
        delete_pool_cli(cluster, name)


def unknown_pool_id(cluster: DevCluster) -> int:
    ids: list[int] = [p["pool_id"] for p in cli_pools(cluster).values()]
    return max(ids) + 1000


# -- POST /pool --------------------------------------------------------------------------------


def test_create_with_wait(client: TestClient, admin_auth: Auth, cluster: DevCluster) -> None:
    with removed_at_end(cluster, unique_name("create")) as name:
        body = {"name": name, "pg_num": 8, "size": 2, "quota_max_objects": 100}
        r = client.post("/pool?wait=1", json=body, auth=admin_auth)
        assert r.status_code == 200, r.text
        job = r.json()
        assert_succeeded(job)
        assert commands_of(job, "finished")[0] == f"osd pool create pool={name} pg_num=8"
        assert sorted(commands_of(job, "finished")[1:]) == [
            f"osd pool set pool={name} var=size val=2",
            f"osd pool set-quota pool={name} field=max_objects val=100",
        ]
        pool = cli_pool(cluster, name)
        assert (pool["pg_num"], pool["pg_placement_num"]) == (8, 8)
        assert (pool["size"], pool["quota_max_objects"]) == (2, 100)


def test_create_without_wait_then_poll(
    client: TestClient, admin_auth: Auth, cluster: DevCluster
) -> None:
    with removed_at_end(cluster, unique_name("nowait")) as name:
        body = {"name": name, "pg_num": 4, "pgp_num": 2, "hashpspool": False}
        r = client.post("/pool", json=body, auth=admin_auth)
        assert r.status_code == 200, r.text
        job = r.json()
        # As the module: the create runs, the other waves wait (pgp_num in the last one).
        assert job["state"] == "pending"
        assert commands_of(job, "running") == [f"osd pool create pool={name} pg_num=4"]
        assert job["waiting"] == [
            [f"osd pool set pool={name} var=hashpspool val=false yes_i_really_mean_it=True"],
            [f"osd pool set pool={name} var=pgp_num val=2"],
        ]
        assert job["is_waiting"] is True
        done = wait_until_finished(client, admin_auth, job["id"])
        assert_succeeded(done)
        pool = cli_pool(cluster, name)
        assert pool["pg_num"] == 4
        assert pool["pg_placement_num_target"] == 2
        assert "hashpspool" not in pool["flags_names"].split(",")
        # The gateway's own read shows it too.
        shown = client.get(f"/pool/{pool['pool_id']}", auth=admin_auth).json()
        assert shown["pool_name"] == name


@pytest.mark.parametrize("rule", [0, "replicated_rule"])
def test_create_with_a_crush_rule_by_id_or_name(
    client: TestClient, admin_auth: Auth, cluster: DevCluster, rule: int | str
) -> None:
    with removed_at_end(cluster, unique_name("rule")) as name:
        body = {"name": name, "pg_num": 4, "crush_rule": rule}
        r = client.post("/pool?wait=1", json=body, auth=admin_auth)
        assert r.status_code == 200, r.text
        assert_succeeded(r.json())
        # Ceph takes only a name: an id is turned into its rule's name.
        assert f"osd pool set pool={name} var=crush_rule val=replicated_rule" in commands_of(
            r.json(), "finished"
        )
        assert cli_pool(cluster, name)["crush_rule"] == 0


def test_create_with_an_unknown_crush_rule_is_400_and_makes_nothing(
    client: TestClient, admin_auth: Auth, cluster: DevCluster
) -> None:
    with removed_at_end(cluster, unique_name("norule")) as name:
        before = job_ids(client, admin_auth)
        for rule, text in ((99, 'id "99"'), ("no-such-rule", 'name "no-such-rule"')):
            r = client.post(
                "/pool?wait=1",
                json={"name": name, "pg_num": 4, "crush_rule": rule},
                auth=admin_auth,
            )
            assert r.status_code == 400
            assert text in r.json()["message"]
        assert name not in cli_pools(cluster)
        assert job_ids(client, admin_auth) - before == set()


def test_create_an_existing_pool_with_other_args_is_409_and_changes_nothing(
    client: TestClient, admin_auth: Auth, cluster: DevCluster
) -> None:
    with created_pool(cluster) as (_, name):
        size = cli_pool(cluster, name)["size"]
        body = {"name": name, "pg_num": 8, "size": size + 1}
        r = client.post("/pool?wait=1", json=body, auth=admin_auth)
        assert r.status_code == 409
        assert r.json() == {
            "message": f'The pool "{name}" already exists; change it with PATCH /pool/{{pool_id}}'
        }
        assert cli_pool(cluster, name)["size"] == size


def test_create_an_existing_pool_again_succeeds_as_in_ceph_and_changes_nothing(
    client: TestClient, admin_auth: Auth, cluster: DevCluster
) -> None:
    # Ceph's own QA flow re-creates its pool and expects success; Ceph says "already exists".
    with created_pool(cluster) as (_, name):
        before = cli_pool(cluster, name)
        r = client.post("/pool?wait=1", json={"name": name, "pg_num": 16}, auth=admin_auth)
        assert r.status_code == 200
        job = r.json()
        assert job["state"] == "success"
        assert [c["command"] for c in job["finished"]] == [f"osd pool create pool={name} pg_num=16"]
        assert "already exists" in job["finished"][0]["outs"]
        after = cli_pool(cluster, name)
        assert (after["pg_num"], after["size"]) == (before["pg_num"], before["size"])


def test_create_needs_name_and_pg_num(
    client: TestClient, admin_auth: Auth, cluster: DevCluster
) -> None:
    before = set(cli_pools(cluster))
    r = client.post("/pool?wait=1", json={"size": 2}, auth=admin_auth)
    assert r.status_code == 422
    problems = {tuple(e["loc"]): e["type"] for e in r.json()["errors"]}
    assert problems == {("body", "name"): "missing", ("body", "pg_num"): "missing"}
    assert "body.name" in r.json()["message"]
    assert "body.pg_num" in r.json()["message"]
    assert set(cli_pools(cluster)) == before


def test_create_lists_every_problem_and_creates_nothing(
    client: TestClient, admin_auth: Auth, cluster: DevCluster
) -> None:
    name = unique_name("invalid")
    with removed_at_end(cluster, name):
        before = job_ids(client, admin_auth)
        body = {
            "name": name,
            "pg_num": "8",
            "size": -1,
            "min_size": 0,
            "quota_max_bytes": -10,
            "hashpspool": "yes",
            "crush_rule": -1,
            "color": "blue",
        }
        r = client.post("/pool?wait=1", json=body, auth=admin_auth)
        assert r.status_code == 422
        problems = {e["loc"][-1] for e in r.json()["errors"]}
        assert problems == {
            "pg_num",
            "size",
            "min_size",
            "quota_max_bytes",
            "hashpspool",
            "crush_rule",
            "color",
        }
        assert name not in cli_pools(cluster)
        assert job_ids(client, admin_auth) - before == set()


@pytest.mark.parametrize(
    "body",
    [
        {"pg_num": 8, "name": ""},
        {"pg_num": 0, "name": "x"},
        {"pg_num": 8, "name": "x", "size": 11},
        {"pg_num": 8, "name": "x", "size": 2, "min_size": 3},
        {"pg_num": 8, "name": "x", "size": None},
        {"pg_num": 8.5, "name": "x"},
        {"pg_num": True, "name": "x"},
    ],
)
def test_create_refuses_bad_values(client: TestClient, admin_auth: Auth, body: Any) -> None:
    r = client.post("/pool?wait=1", json=body, auth=admin_auth)
    assert r.status_code == 422, r.text
    assert r.json()["errors"]


def test_create_refuses_a_body_that_is_not_an_object(client: TestClient, admin_auth: Auth) -> None:
    assert client.post("/pool", json=["name", "x"], auth=admin_auth).status_code == 422
    headers = {"Content-Type": "application/json"}
    r = client.post("/pool", content=b"{not json", headers=headers, auth=admin_auth)
    # Not JSON at all is a bad request; JSON of the wrong shape (above) a 422.
    assert r.status_code == 400
    assert r.json()["message"].startswith("the request body is not JSON: ")


# -- PATCH /pool/{id} --------------------------------------------------------------------------


def test_update_size_min_size_and_quotas_with_wait(
    client: TestClient, admin_auth: Auth, cluster: DevCluster
) -> None:
    with created_pool(cluster) as (pool_id, name):
        body = {"size": 3, "min_size": 2, "quota_max_bytes": 1 << 20, "quota_max_objects": 50}
        r = client.patch(f"/pool/{pool_id}?wait=1", json=body, auth=admin_auth)
        assert r.status_code == 200, r.text
        job = r.json()
        assert_succeeded(job)
        finished = commands_of(job, "finished")
        assert sorted(finished[:3]) == [
            f"osd pool set pool={name} var=size val=3",
            f"osd pool set-quota pool={name} field=max_bytes val=1048576",
            f"osd pool set-quota pool={name} field=max_objects val=50",
        ]
        # After size, in a second wave: the mon checks min_size against the current size.
        assert finished[3:] == [f"osd pool set pool={name} var=min_size val=2"]
        pool = cli_pool(cluster, name)
        assert (pool["size"], pool["min_size"]) == (3, 2)
        assert (pool["quota_max_bytes"], pool["quota_max_objects"]) == (1 << 20, 50)
        # Both smaller: size first (the mon lowers min_size to fit), then min_size.
        r = client.patch(
            f"/pool/{pool_id}?wait=1", json={"size": 2, "min_size": 1}, auth=admin_auth
        )
        assert_succeeded(r.json())
        pool = cli_pool(cluster, name)
        assert (pool["size"], pool["min_size"]) == (2, 1)
        # Quotas back to none.
        r = client.patch(
            f"/pool/{pool_id}?wait=1",
            json={"quota_max_bytes": 0, "quota_max_objects": 0},
            auth=admin_auth,
        )
        assert_succeeded(r.json())
        pool = cli_pool(cluster, name)
        assert (pool["quota_max_bytes"], pool["quota_max_objects"]) == (0, 0)


def test_update_pg_num_then_pgp_num_in_a_second_wave(
    client: TestClient, admin_auth: Auth, cluster: DevCluster
) -> None:
    with created_pool(cluster) as (pool_id, name):
        r = client.patch(f"/pool/{pool_id}", json={"pg_num": 16}, auth=admin_auth)
        assert r.status_code == 200, r.text
        job = r.json()
        assert commands_of(job, "running") == [f"osd pool set pool={name} var=pg_num val=16"]
        assert job["waiting"] == [[f"osd pool set pool={name} var=pgp_num val=16"]]
        done = wait_until_finished(client, admin_auth, job["id"])
        assert_succeeded(done)
        assert commands_of(done, "finished") == [
            f"osd pool set pool={name} var=pg_num val=16",
            f"osd pool set pool={name} var=pgp_num val=16",
        ]
        assert done["waiting"] == []
        pool = cli_pool(cluster, name)
        assert (pool["pg_num_target"], pool["pg_placement_num_target"]) == (16, 16)


def test_update_hashpspool_both_ways(
    client: TestClient, admin_auth: Auth, cluster: DevCluster
) -> None:
    def flags(name: str) -> list[str]:
        value: str = cli_pool(cluster, name)["flags_names"]
        return value.split(",")

    with created_pool(cluster) as (pool_id, name):
        assert "hashpspool" in flags(name)
        r = client.patch(f"/pool/{pool_id}?wait=1", json={"hashpspool": False}, auth=admin_auth)
        assert_succeeded(r.json())
        assert "hashpspool" not in flags(name)
        r = client.patch(f"/pool/{pool_id}?wait=1", json={"hashpspool": True}, auth=admin_auth)
        assert_succeeded(r.json())
        assert "hashpspool" in flags(name)


@pytest.mark.parametrize("rule", [0, "replicated_rule"])
def test_update_crush_rule(
    client: TestClient, admin_auth: Auth, cluster: DevCluster, rule: int | str
) -> None:
    with created_pool(cluster) as (pool_id, name):
        r = client.patch(f"/pool/{pool_id}?wait=1", json={"crush_rule": rule}, auth=admin_auth)
        assert r.status_code == 200, r.text
        assert_succeeded(r.json())
        assert commands_of(r.json(), "finished") == [
            f"osd pool set pool={name} var=crush_rule val=replicated_rule"
        ]
        assert cli_pool(cluster, name)["crush_rule"] == 0
        r = client.patch(f"/pool/{pool_id}?wait=1", json={"crush_rule": 42}, auth=admin_auth)
        assert r.status_code == 400
        assert r.json() == {"message": 'No CRUSH rule with id "42"'}


def test_a_failed_command_is_reported_in_the_job(
    client: TestClient, admin_auth: Auth, cluster: DevCluster
) -> None:
    # min_size above the pool's current size passes validation (size is not in the body);
    # Ceph refuses it, and the job says so.
    with created_pool(cluster) as (pool_id, name):
        size = cli_pool(cluster, name)["size"]
        r = client.patch(f"/pool/{pool_id}?wait=1", json={"min_size": size + 1}, auth=admin_auth)
        assert r.status_code == 200
        job = r.json()
        assert (job["state"], job["has_failed"]) == ("failed", True)
        assert job["failed"][0]["errno"] == 22
        assert "min_size" in job["failed"][0]["outs"]
        assert cli_pool(cluster, name)["min_size"] <= size


def test_update_lists_every_problem_and_changes_nothing(
    client: TestClient, admin_auth: Auth, cluster: DevCluster
) -> None:
    with created_pool(cluster) as (pool_id, name):
        before_pool = cli_pool(cluster, name)
        before_jobs = job_ids(client, admin_auth)
        body = {"size": 0, "pg_num": "16", "quota_max_objects": -1, "name": "new", "bogus": 1}
        r = client.patch(f"/pool/{pool_id}?wait=1", json=body, auth=admin_auth)
        assert r.status_code == 422
        assert {e["loc"][-1] for e in r.json()["errors"]} == {
            "size",
            "pg_num",
            "quota_max_objects",
            "name",
            "bogus",
        }
        r = client.patch(
            f"/pool/{pool_id}?wait=1", json={"size": 2, "min_size": 3}, auth=admin_auth
        )
        assert r.status_code == 422
        assert "min_size (3) must not exceed size (2)" in r.json()["message"]
        after = cli_pool(cluster, name)
        for key in ("size", "min_size", "pg_num", "quota_max_objects"):
            assert after[key] == before_pool[key], key
        assert job_ids(client, admin_auth) - before_jobs == set()


def test_update_unknown_pool_is_404_before_any_job(
    client: TestClient, admin_auth: Auth, cluster: DevCluster
) -> None:
    before = job_ids(client, admin_auth)
    pool_id = unknown_pool_id(cluster)
    r = client.patch(f"/pool/{pool_id}?wait=1", json={"size": 2}, auth=admin_auth)
    assert r.status_code == 404
    assert r.json() == {"message": f'Failed to identify the pool id "{pool_id}"'}
    assert job_ids(client, admin_auth) - before == set()


def test_empty_update_is_an_empty_successful_job(
    client: TestClient, admin_auth: Auth, cluster: DevCluster
) -> None:
    with created_pool(cluster) as (pool_id, _):
        r = client.patch(f"/pool/{pool_id}", json={}, auth=admin_auth)
        assert r.status_code == 200
        job = r.json()
        assert (job["state"], job["running"], job["finished"], job["waiting"]) == (
            "success",
            [],
            [],
            [],
        )


# -- DELETE /pool/{id} -------------------------------------------------------------------------


def test_delete_with_wait(client: TestClient, admin_auth: Auth, cluster: DevCluster) -> None:
    with created_pool(cluster) as (pool_id, name):
        r = client.delete(f"/pool/{pool_id}?wait=1", auth=admin_auth)
        assert r.status_code == 200, r.text
        job = r.json()
        assert_succeeded(job)
        assert commands_of(job, "finished") == [
            f"osd pool delete pool={name} pool2={name} yes_i_really_really_mean_it=True"
        ]
        assert name not in cli_pools(cluster)
        assert client.get(f"/pool/{pool_id}", auth=admin_auth).status_code == 404
        # Gone: a second delete is a 404 before any job.
        r = client.delete(f"/pool/{pool_id}?wait=1", auth=admin_auth)
        assert r.status_code == 404


def test_delete_without_wait_then_poll(
    client: TestClient, admin_auth: Auth, cluster: DevCluster
) -> None:
    with created_pool(cluster) as (pool_id, name):
        r = client.delete(f"/pool/{pool_id}", auth=admin_auth)
        assert r.status_code == 200
        assert r.json()["state"] == "pending"
        assert_succeeded(wait_until_finished(client, admin_auth, r.json()["id"]))
        assert name not in cli_pools(cluster)


def test_delete_unknown_pool_is_404(
    client: TestClient, admin_auth: Auth, cluster: DevCluster
) -> None:
    pool_id = unknown_pool_id(cluster)
    r = client.delete(f"/pool/{pool_id}", auth=admin_auth)
    assert r.status_code == 404
    assert r.json() == {"message": f'Failed to identify the pool id "{pool_id}"'}


def test_non_integer_pool_id_is_400(client: TestClient, admin_auth: Auth) -> None:
    assert client.patch("/pool/abc", json={"size": 2}, auth=admin_auth).status_code == 400
    assert client.delete("/pool/abc", auth=admin_auth).status_code == 400


# -- keys, and ?wait= past the timeout ---------------------------------------------------------


def test_writes_need_an_admin_key(
    client: TestClient, read_only_auth: Auth, cluster: DevCluster
) -> None:
    with created_pool(cluster) as (pool_id, name):
        new_name = unique_name("ro")
        with removed_at_end(cluster, new_name):
            calls: list[Callable[..., Any]] = [
                lambda **kw: client.post(
                    "/pool?wait=1", json={"name": new_name, "pg_num": 4}, **kw
                ),
                lambda **kw: client.patch(f"/pool/{pool_id}?wait=1", json={"size": 2}, **kw),
                lambda **kw: client.delete(f"/pool/{pool_id}?wait=1", **kw),
            ]
            for call in calls:
                r = call(auth=read_only_auth)
                assert r.status_code == 403
                assert r.json()["message"]
                assert call().status_code == 401
                assert call(auth=("test-admin", "wrong")).status_code == 401
            assert new_name not in cli_pools(cluster)
            assert cli_pool(cluster, name)["size"] == 1


def test_wait_timeout_is_202_then_the_job_finishes(
    settings: Settings, admin_auth: Auth, cluster: DevCluster
) -> None:
    with (
        created_pool(cluster) as (pool_id, name),
        gateway(settings, admin_auth, job_wait_timeout=0.001) as c,
    ):
        r = c.patch(f"/pool/{pool_id}?wait=1", json={"pg_num": 16}, auth=admin_auth)
        assert r.status_code == 202
        assert r.json()["state"] == "pending"
        assert_succeeded(wait_until_finished(c, admin_auth, r.json()["id"]))
        assert cli_pool(cluster, name)["pg_placement_num_target"] == 16


@pytest.mark.parametrize("value", ["0", "false", ""])
def test_wait_values_that_do_not_wait(
    client: TestClient, admin_auth: Auth, cluster: DevCluster, value: str
) -> None:
    with created_pool(cluster) as (pool_id, _):
        r = client.patch(f"/pool/{pool_id}?wait={value}", json={"pg_num": 16}, auth=admin_auth)
        assert r.status_code == 200
        assert r.json()["waiting"], "answered before the second wave started"
        assert_succeeded(wait_until_finished(client, admin_auth, r.json()["id"]))
