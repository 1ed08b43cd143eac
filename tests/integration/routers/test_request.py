"""/request against a real cluster: jobs of real mon commands, with and without ?wait, their
failures, ?page=, deletion, auth, the deny-list, and many clients at once."""

from __future__ import annotations

import json
import re
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import anyio
import pytest
from fastapi.testclient import TestClient

from app.auth import KEY_PREFIX
from app.ceph.client import open_client
from app.ceph.commands import humanize_command
from app.jobs import JobTable
from app.settings import Settings
from cli.dev_cluster import DevCluster
from tests.integration.differential import compare_shapes, json_type
from tests.support import TEST_POOL, ask_until, wait_until
from tests.support.cluster import audit_log, ceph_cli, ceph_cli_json, config_key_exists
from tests.support.jobs import OSD_STAT, assert_succeeded, slow, wait_until_finished
from tests.support.server import gateway

pytestmark = pytest.mark.integration

Auth = tuple[str, str]

FAILING = {"prefix": "osd pool get", "pool": "h-jobs-no-such-pool", "var": "size"}


def table_of(test_client: TestClient) -> JobTable:
    table: JobTable = test_client.app_state["jobs"]
    return table


def a_pool(cluster: DevCluster) -> str:
    pools: list[str] = ceph_cli_json(cluster, "osd", "pool", "ls")
    return pools[0]


# -- POST ---------------------------------------------------------------------------------------


def test_post_one_command_without_wait_answers_at_once_with_it_running(
    client: TestClient, admin_auth: Auth
) -> None:
    r = client.post("/request", json=OSD_STAT, auth=admin_auth)
    assert r.status_code == 200
    job = r.json()
    uuid.UUID(job["id"], version=4)
    assert job["running"] == [
        {"command": "osd stat format=json", "outs": "", "outb": "", "errno": None}
    ]
    assert (job["finished"], job["failed"], job["waiting"]) == ([], [], [])
    assert (job["state"], job["is_finished"], job["is_waiting"]) == ("pending", False, False)
    done = wait_until_finished(client, admin_auth, job["id"])
    assert done["state"] == "success"
    assert done["finished"][0]["command"] == "osd stat format=json"


def test_post_waves_without_wait_shows_the_waiting_waves(
    client: TestClient, admin_auth: Auth
) -> None:
    later = {"prefix": "osd pool ls", "detail": "detail"}
    waves = [[OSD_STAT, {"prefix": "mon stat"}], [], [later]]
    job = client.post("/request", json=waves, auth=admin_auth).json()
    assert [r["command"] for r in job["running"]] == ["osd stat format=json", "mon stat"]
    assert job["waiting"] == [["osd pool ls detail=detail"]]  # the empty wave is dropped
    assert (job["is_waiting"], job["state"]) == (True, "pending")
    wait_until_finished(client, admin_auth, job["id"])


def test_post_with_wait_runs_every_wave(
    client: TestClient, admin_auth: Auth, cluster: DevCluster
) -> None:
    pool = a_pool(cluster)
    waves = [
        [OSD_STAT, {"prefix": "mon stat"}],
        [{"prefix": "osd pool get", "pool": pool, "var": "size", "format": "json"}],
    ]
    r = client.post("/request?wait=1", json=waves, auth=admin_auth)
    assert r.status_code == 200
    job = r.json()
    assert (job["state"], job["is_finished"], job["has_failed"]) == ("success", True, False)
    assert (job["running"], job["waiting"], job["failed"]) == ([], [], [])
    commands = [f["command"] for f in job["finished"]]
    assert sorted(commands[:2]) == ["mon stat", "osd stat format=json"]
    assert commands[2] == f"osd pool get pool={pool} var=size format=json"
    assert all(f["errno"] == 0 for f in job["finished"])
    stat = json.loads(
        next(f for f in job["finished"] if f["command"].startswith("osd stat"))["outb"]
    )
    assert stat["num_osds"] == ceph_cli_json(cluster, "osd", "stat")["num_osds"]
    size = json.loads(job["finished"][2]["outb"])["size"]
    assert size == ceph_cli_json(cluster, "osd", "pool", "get", pool, "size")["size"]
    assert client.get(f"/request/{job['id']}", auth=admin_auth).json() == job


def _answers_events(client: TestClient, auth: Auth) -> dict[str, float]:
    """The cache's events of command answers, from /metrics."""
    events: dict[str, float] = {}
    for line in client.get("/metrics", auth=auth).text.splitlines():
        if line.startswith("cephgw_cache_events_total{") and 'map="command answers"' in line:
            event = line.split('event="', 1)[1].split('"', 1)[0]
            events[event] = float(line.rsplit(" ", 1)[1])
    return events


def test_a_read_only_command_s_answer_is_reused_until_a_write_through_the_gateway(
    client: TestClient, admin_auth: Auth, cluster: DevCluster
) -> None:
    dump = {"prefix": "osd dump", "format": "json"}

    def flags() -> tuple[str, set[str]]:
        r = client.post("/request?wait=1", json=dump, auth=admin_auth)
        assert r.status_code == 200
        job = r.json()
        assert job["state"] == "success"
        # Every job its own, as it ran.
        assert client.get(f"/request/{job['id']}", auth=admin_auth).json() == job
        return job["id"], set(json.loads(job["finished"][0]["outb"])["flags"].split(","))

    first_id, first = flags()
    before = _answers_events(client, admin_auth)
    second_id, second = flags()
    after = _answers_events(client, admin_auth)
    assert second_id != first_id
    assert second == first
    if after.get("hit", 0) == before.get("hit", 0):  # more than cache_max_age (1 s) passed
        assert after["fetched"] > before["fetched"]
    assert "noup" not in first
    # A write through the gateway: the next ask is the cluster's answer after it.
    noup = {"prefix": "osd set", "key": "noup"}
    try:
        assert client.post("/request?wait=1", json=noup, auth=admin_auth).json()["state"] == (
            "success"
        )
        assert "noup" in flags()[1]
    finally:
        unset = {"prefix": "osd unset", "key": "noup"}
        if client.post("/request?wait=1", json=unset, auth=admin_auth).status_code != 200:
            ceph_cli(cluster, "osd", "unset", "noup")
    assert "noup" not in flags()[1]


def test_a_failing_command_fails_the_job_with_cephs_message(
    client: TestClient, admin_auth: Auth
) -> None:
    job = client.post("/request?wait=yes", json=FAILING, auth=admin_auth).json()
    assert (job["state"], job["has_failed"], job["is_finished"]) == ("failed", True, True)
    assert job["finished"] == []
    assert job["failed"] == [
        {
            "command": "osd pool get pool=h-jobs-no-such-pool var=size",
            "outs": "unrecognized pool 'h-jobs-no-such-pool'",
            "outb": "",
            "errno": 2,
        }
    ]


def test_a_failure_does_not_stop_the_later_waves(client: TestClient, admin_auth: Auth) -> None:
    # As in the module: every wave runs, the job then shows failed.
    job = client.post("/request?wait=true", json=[[FAILING], [OSD_STAT]], auth=admin_auth).json()
    assert job["state"] == "failed"
    assert [f["command"] for f in job["failed"]] == [
        "osd pool get pool=h-jobs-no-such-pool var=size"
    ]
    assert [f["command"] for f in job["finished"]] == ["osd stat format=json"]


@pytest.mark.parametrize("value", ["", "0", "false", "no", "No"])
def test_wait_values_that_do_not_wait(client: TestClient, admin_auth: Auth, value: str) -> None:
    r = client.post(f"/request?wait={value}", json=[[OSD_STAT], [OSD_STAT]], auth=admin_auth)
    assert r.status_code == 200
    assert r.json()["state"] == "pending"
    wait_until_finished(client, admin_auth, r.json()["id"])


def test_an_empty_job_is_a_success(client: TestClient, admin_auth: Auth) -> None:
    bodies: list[list[Any]] = [[], [[]], [[], []]]
    for body in bodies:
        job = client.post("/request", json=body, auth=admin_auth).json()
        assert (job["state"], job["is_finished"], job["running"]) == ("success", True, [])


def test_wait_timeout_is_202_with_the_job_as_it_stands(
    settings: Settings, admin_auth: Auth
) -> None:
    with gateway(settings, admin_auth, job_wait_timeout=0.3) as c:
        started = time.monotonic()
        r = c.post("/request?wait=1", json=[[slow()], [slow()], [slow()]], auth=admin_auth)
        assert 0.3 <= time.monotonic() - started < 5
        assert r.status_code == 202
        job = r.json()
        assert (job["state"], job["is_finished"]) == ("pending", False)
        assert len(job["running"]) + sum(map(len, job["waiting"])) >= 1
        done = wait_until_finished(c, admin_auth, job["id"])
        assert done["state"] == "success"
        assert len(done["finished"]) == 3
        assert done["finished"][0]["outs"].startswith("blocklisting 192.0.2.1:0/")


def test_too_many_running_jobs_is_503(settings: Settings, admin_auth: Auth) -> None:
    with gateway(settings, admin_auth, job_max_running=1) as c:
        first = c.post("/request", json=[[slow()], [slow()]], auth=admin_auth)
        assert first.status_code == 200
        r = c.post("/request", json=OSD_STAT, auth=admin_auth)
        assert r.status_code == 503
        assert "job_max_running" in r.json()["message"]
        assert r.headers["retry-after"]
        assert len(c.get("/request", auth=admin_auth).json()) == 1
        wait_until_finished(c, admin_auth, first.json()["id"])
        assert c.post("/request", json=OSD_STAT, auth=admin_auth).status_code == 200


def test_a_shutting_down_gateway_refuses_jobs_and_finishes_the_running_ones(
    settings: Settings, admin_auth: Auth
) -> None:
    with gateway(settings, admin_auth) as c:
        table = table_of(c)
        job_id = c.post("/request", json=[[slow()], [slow()]], auth=admin_auth).json()["id"]
        table.stop_accepting()
        r = c.post("/request", json=OSD_STAT, auth=admin_auth)
        assert r.status_code == 503
        assert r.json() == {"message": "the gateway is shutting down: it takes no new jobs"}
        started = time.monotonic()
    # The lifespan waited for the running job (within job_shutdown_grace) before it ended.
    assert time.monotonic() - started >= 0.5
    job = table.get(job_id)
    assert job is not None
    assert job.to_json()["state"] == "success"
    assert len(job.finished) == 2


# -- bad bodies ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("osd stat", "must be a mon command"),
        ({"pool": "x"}, "needs a 'prefix'"),
        ([{"prefix": "osd stat"}], "wave 0 is not a list"),
        ([[OSD_STAT], [{"prefix": ""}]], "wave 1, command 0 needs a 'prefix'"),
        ([[OSD_STAT, 7]], "wave 0, command 1 is not an object"),
    ],
)
def test_a_bad_body_is_422_and_nothing_runs(
    client: TestClient, admin_auth: Auth, body: Any, message: str
) -> None:
    before = len(client.get("/request", auth=admin_auth).json())
    r = client.post("/request", json=body, auth=admin_auth)
    assert r.status_code == 422
    assert message in r.json()["message"]
    assert len(client.get("/request", auth=admin_auth).json()) == before


def test_nothing_is_half_applied(client: TestClient, admin_auth: Auth, cluster: DevCluster) -> None:
    key = f"h-jobs-test/{uuid.uuid4()}"
    setter = {"prefix": "config-key set", "key": key, "val": "1"}
    r = client.post("/request?wait=1", json=[[setter], [{"prefix": 3}]], auth=admin_auth)
    assert r.status_code == 422
    r = client.post(
        "/request?wait=1", json=[[setter], [{"prefix": "auth export"}]], auth=admin_auth
    )
    assert r.status_code == 403
    assert not config_key_exists(cluster, key)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (
            {"prefix": "osd pool stats extra"},
            "'osd pool stats extra': no such command in the cluster's command table",
        ),
        (
            {"prefix": "osd pool get", "pool": "rbd", "var": "colour"},
            "'osd pool get pool=rbd var=colour': colour not in size|min_size|",
        ),
        (
            {"prefix": "osd pool create", "pool": "x", "pg_num": "many"},
            "'osd pool create pool=x pg_num=many': many doesn't represent an int",
        ),
        (
            {"prefix": "config-key set"},
            "'config-key set': missing required parameter key(<string>)",
        ),
    ],
    ids=["unknown prefix", "bad choice", "not an int", "missing argument"],
)
def test_a_command_the_cluster_would_refuse_is_400_before_any_job(
    client: TestClient, admin_auth: Auth, cluster: DevCluster, bad: dict[str, Any], message: str
) -> None:
    """Checked as the `ceph` CLI checks, against the cluster's own command table: nothing of
    the job runs, not even its valid earlier wave."""
    key = f"h-jobs-test/{uuid.uuid4()}"
    setter = {"prefix": "config-key set", "key": key, "val": "1"}
    before = client.get("/request", auth=admin_auth).json()
    r = client.post("/request?wait=1", json=[[setter], [OSD_STAT, bad]], auth=admin_auth)
    assert r.status_code == 400, r.text
    assert r.json()["message"].startswith(message), r.json()
    assert client.get("/request", auth=admin_auth).json() == before
    assert not config_key_exists(cluster, key)


@pytest.mark.parametrize("content_type", ["application/json", "application/x-www-form-urlencoded"])
def test_a_body_that_is_not_json_is_400(
    client: TestClient, admin_auth: Auth, content_type: str
) -> None:
    before = len(client.get("/request", auth=admin_auth).json())
    r = client.post(
        "/request", content=b"{nope", headers={"content-type": content_type}, auth=admin_auth
    )
    assert r.status_code == 400
    assert r.json()["message"].startswith("the request body is not JSON: Expecting property name")
    assert len(client.get("/request", auth=admin_auth).json()) == before


def test_a_body_that_is_not_text_is_400_after_the_key_checks(
    client: TestClient, admin_auth: Auth, read_only_auth: Auth
) -> None:
    # schemathesis sent such bodies: FastAPI answered a bare 400 "There was an error parsing
    # the body", before the key was looked at.
    not_utf8 = b'{"prefix": "\xf5"}'
    r = client.post("/request", content=not_utf8, auth=admin_auth)
    assert r.status_code == 400
    assert r.json() == {
        "message": "the request body is not JSON: not UTF-8 text (invalid start byte) at byte 12"
    }
    assert client.post("/request", content=not_utf8).status_code == 401
    assert client.post("/pool", content=not_utf8, auth=read_only_auth).status_code == 403


def test_a_json_body_is_read_whatever_its_content_type(
    client: TestClient, admin_auth: Auth
) -> None:
    r = client.post(
        "/request?wait=1",
        content=json.dumps(OSD_STAT).encode(),
        headers={"content-type": "application/x-www-form-urlencoded"},
        auth=admin_auth,
    )
    assert r.status_code == 200, r.text
    assert [c["command"] for c in r.json()["finished"]] == ["osd stat format=json"]


# -- deny-list ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        {"prefix": "auth get", "entity": "client.admin"},
        {"prefix": "auth get-key", "entity": "client.admin"},
        {"prefix": "auth print-key", "entity": "client.admin"},
        {"prefix": "auth print_key", "entity": "client.admin"},
        {"prefix": "auth export"},
        {"prefix": "auth get-or-create", "entity": "client.admin"},
        {"prefix": "auth get-or-create-key", "entity": "client.admin"},
        {"prefix": "auth ls"},
        {"prefix": "config-key get", "key": KEY_PREFIX + "test-admin"},
        {"prefix": "config-key exists", "key": KEY_PREFIX + "test-admin"},
        {"prefix": "config-key dump"},
        {"prefix": "config-key dump", "key": "cephgw/"},
        {"prefix": "config-key ls"},
    ],
)
def test_deny_list_refuses_secrets(
    client: TestClient, admin_auth: Auth, command: dict[str, Any]
) -> None:
    before = len(client.get("/request", auth=admin_auth).json())
    r = client.post("/request?wait=1", json=[[OSD_STAT], [command]], auth=admin_auth)
    assert r.status_code == 403
    assert f"'{command['prefix']}" in r.json()["message"]
    assert "deny-list" in r.json()["message"]
    assert len(client.get("/request", auth=admin_auth).json()) == before


def test_deny_list_lets_other_config_keys_through(
    client: TestClient, admin_auth: Auth, cluster: DevCluster
) -> None:
    key = f"h-jobs-test/{uuid.uuid4()}"
    ceph_cli(cluster, "config-key", "set", key, "hello")
    try:
        waves = [
            [{"prefix": "config-key get", "key": key}],
            [{"prefix": "config-key dump", "key": "h-jobs-test/"}],
        ]
        job = client.post("/request?wait=1", json=waves, auth=admin_auth).json()
        assert job["state"] == "success"
        assert job["finished"][0]["outb"] == "hello"
        assert key in job["finished"][1]["outb"]
    finally:
        ceph_cli(cluster, "config-key", "rm", key)


def test_deny_list_is_a_setting(settings: Settings, admin_auth: Auth) -> None:
    with gateway(settings, admin_auth, request_deny=["osd st*"]) as c:
        r = c.post("/request", json=OSD_STAT, auth=admin_auth)
        assert r.status_code == 403
        assert "'osd stat format=json'" in r.json()["message"]
        job = c.post("/request?wait=1", json={"prefix": "mon stat"}, auth=admin_auth).json()
        assert job["state"] == "success"


# -- GET, ?page= and DELETE ---------------------------------------------------------------------


def test_pages_and_unique_ids(settings: Settings, admin_auth: Auth, read_only_auth: Auth) -> None:
    with gateway(settings, admin_auth) as c:
        ids = [c.post("/request", json=OSD_STAT, auth=admin_auth).json()["id"] for _ in range(250)]
        assert len(set(ids)) == 250

        def page(query: str) -> list[str]:
            r = c.get(f"/request{query}", auth=read_only_auth)
            assert r.status_code == 200, r.text
            return [j["id"] for j in r.json()]

        assert page("") == ids
        assert page("?page=0") == ids[:100]
        assert page("?page=1") == ids[100:200]
        assert page("?page=2") == ids[200:]
        assert page("?page=3") == []
        assert page("?page=99999") == []
        assert page("?page=-1") == ids[150:]
        assert page("?page=-2") == ids[50:150]
        assert page("?page=-3") == ids[:50]
        assert page("?page=-4") == []
        for bad in ("x", "1.5", "", "0x1"):
            r = c.get(f"/request?page={bad}", auth=read_only_auth)
            assert r.status_code == 400, bad
            assert "page" in r.json()["message"]
        for job_id in ids:
            wait_until_finished(c, admin_auth, job_id)


def test_delete_finished_requests(settings: Settings, admin_auth: Auth) -> None:
    with gateway(settings, admin_auth) as c:
        for _ in range(3):
            c.post("/request?wait=1", json=OSD_STAT, auth=admin_auth)
        c.post("/request?wait=1", json=FAILING, auth=admin_auth)
        running = c.post("/request", json=[[slow()], [slow()]], auth=admin_auth).json()["id"]
        r = c.delete("/request", auth=admin_auth)
        assert r.status_code == 200
        assert r.json() == {"cleaned": 4, "remaining": 1}
        assert [j["id"] for j in c.get("/request", auth=admin_auth).json()] == [running]
        wait_until_finished(c, admin_auth, running)
        assert c.delete("/request", auth=admin_auth).json() == {"cleaned": 1, "remaining": 0}
        assert c.delete("/request", auth=admin_auth).json() == {"cleaned": 0, "remaining": 0}


def test_get_and_delete_one_request(client: TestClient, admin_auth: Auth) -> None:
    job = client.post("/request?wait=1", json=OSD_STAT, auth=admin_auth).json()
    r = client.delete(f"/request/{job['id']}", auth=admin_auth)
    assert r.status_code == 200
    assert r.json() == job
    r = client.get(f"/request/{job['id']}", auth=admin_auth)
    assert r.status_code == 404
    assert r.json() == {"message": f'Unknown request id "{job["id"]}"'}
    r = client.delete(f"/request/{job['id']}", auth=admin_auth)
    assert r.status_code == 404
    assert r.json()["message"] == f'No such request id "{job["id"]}"'
    assert client.get("/request/140117002602640", auth=admin_auth).status_code == 404


def test_deleting_a_running_request_drops_it_and_its_later_waves(
    client: TestClient, admin_auth: Auth, cluster: DevCluster
) -> None:
    key = f"h-jobs-test/{uuid.uuid4()}"
    waves = [[slow()], [slow()], [{"prefix": "config-key set", "key": key, "val": "1"}]]
    job = client.post("/request", json=waves, auth=admin_auth).json()
    running = table_of(client).get(job["id"])
    assert running is not None
    r = client.delete(f"/request/{job['id']}", auth=admin_auth)
    assert r.status_code == 200
    assert r.json()["state"] == "pending"
    assert r.json()["waiting"] == job["waiting"]
    assert client.get(f"/request/{job['id']}", auth=admin_auth).status_code == 404
    # Its first wave ends, then it stops.
    wait_until(lambda: running.done, "the deleted job is done", limit=30, interval=0.05)
    assert [f["command"] for f in running.to_json()["finished"]] == [job["running"][0]["command"]]
    assert running.waiting  # never started
    assert not config_key_exists(cluster, key)


# -- auth ---------------------------------------------------------------------------------------

# Without a key, or with a wrong one, each is a 401: tests/integration/test_roles.py checks that
# of every route of the app.
ROUTES = [
    ("GET", "/request"),
    ("POST", "/request"),
    ("DELETE", "/request"),
    ("GET", "/request/x"),
    ("DELETE", "/request/x"),
]


# A command that changes the cluster (and here changes nothing: the key does not exist).
CONFIG_KEY_RM = {"prefix": "config-key rm", "key": "h-jobs-test/never-set"}


@pytest.mark.parametrize(("method", "path"), [r for r in ROUTES if r[0] != "GET"])
def test_a_read_only_key_cannot_write(
    client: TestClient, admin_auth: Auth, read_only_auth: Auth, method: str, path: str
) -> None:
    before = client.get("/request", auth=read_only_auth).json()
    r = client.request(method, path + "?wait=1", json=CONFIG_KEY_RM, auth=read_only_auth)
    assert r.status_code == 403
    assert r.json()["message"]
    assert client.get("/request", auth=admin_auth).json() == before


# Commands monitoring clients send (Zabbix, Metricbeat): each only reads. `pg dump`, `osd perf`,
# `osd pool stats` and `osd df` are served by the mgr.
READ_ONLY_COMMANDS = [
    {"prefix": "status", "format": "json"},
    {"prefix": "health"},
    {"prefix": "df", "format": "json", "detail": "detail"},
    {"prefix": "osd tree", "format": "json"},
    {"prefix": "osd dump", "format": "json"},
    {"prefix": "osd crush rule dump", "format": "json"},
    {"prefix": "time-sync-status", "format": "json"},
    {"prefix": "pg dump", "format": "json"},
    {"prefix": "osd perf", "format": "json"},
    {"prefix": "osd pool stats", "format": "json"},
    {"prefix": "osd df", "format": "json"},
]
NUMBERS = {"int", "float"}


@pytest.mark.parametrize("command", READ_ONLY_COMMANDS, ids=lambda c: c["prefix"])
def test_a_read_only_key_runs_commands_that_only_read(
    client: TestClient, read_only_auth: Auth, command: dict[str, Any]
) -> None:
    r = client.post("/request?wait=1", json=command, auth=read_only_auth)
    assert r.status_code == 200, r.text
    job = r.json()
    assert job["state"] == "success", job
    outb = job["finished"][0]["outb"]
    if "format" in command:
        assert json.loads(outb) is not None  # that command's JSON
    else:
        assert outb.strip(), job  # plain text, e.g. HEALTH_OK


@pytest.mark.parametrize(
    ("waves", "refused", "why"),
    [
        (CONFIG_KEY_RM, "config-key rm key=h-jobs-test/never-set", "marks 'config-key rm' rw"),
        (
            [[OSD_STAT], [{"prefix": "osd pool delete", "pool": "x", "pool2": "x"}]],
            "osd pool delete pool=x pool2=x",
            "marks 'osd pool delete' rw",
        ),
        (
            {"prefix": "auth caps", "entity": "client.nobody", "caps": ["mon", "allow *"]},
            "auth caps entity=client.nobody caps=['mon', 'allow *']",
            "marks 'auth caps' rwx",
        ),
        ({"prefix": "no such command"}, "no such command", "is not in the cluster's command"),
        (
            {"prefix": "config-key get", "key": "mgr/dashboard/key"},
            "config-key get key=mgr/dashboard/key",
            "reads the config-key store",
        ),
    ],
    ids=["rw", "rw in a later wave", "rwx", "unknown", "config-key read"],
)
def test_a_read_only_key_is_refused_what_does_not_only_read(
    client: TestClient, admin_auth: Auth, read_only_auth: Auth, waves: Any, refused: str, why: str
) -> None:
    before = client.get("/request", auth=admin_auth).json()
    r = client.post("/request?wait=1", json=waves, auth=read_only_auth)
    assert r.status_code == 403, r.text
    message = r.json()["message"]
    assert f"key '{read_only_auth[0]}' is read-only and '{refused}'" in message, message
    assert why in message, message
    assert client.get("/request", auth=admin_auth).json() == before


def test_the_deny_list_comes_first_for_a_read_only_key(
    client: TestClient, read_only_auth: Auth
) -> None:
    r = client.post("/request", json={"prefix": "auth export"}, auth=read_only_auth)
    assert r.status_code == 403
    assert "deny-list" in r.json()["message"]


def test_an_admin_key_runs_what_a_read_only_key_may_not(
    client: TestClient, admin_auth: Auth
) -> None:
    r = client.post("/request?wait=1", json=CONFIG_KEY_RM, auth=admin_auth)
    assert r.status_code == 200, r.text
    assert [c["command"] for c in r.json()["finished"]] == [
        "config-key rm key=h-jobs-test/never-set"
    ]


def test_a_read_only_key_can_read(
    client: TestClient, admin_auth: Auth, read_only_auth: Auth
) -> None:
    job = client.post("/request?wait=1", json=OSD_STAT, auth=admin_auth).json()
    assert client.get(f"/request/{job['id']}", auth=read_only_auth).json() == job
    assert job["id"] in [j["id"] for j in client.get("/request", auth=read_only_auth).json()]


# -- many clients -------------------------------------------------------------------------------


def test_many_clients_at_once(client: TestClient, admin_auth: Auth, cluster: DevCluster) -> None:
    num_osds = ceph_cli_json(cluster, "osd", "stat")["num_osds"]

    def one(i: int) -> dict[str, Any]:
        # A read of its own in every job (where object i maps): no two jobs' answers mix.
        own = {"prefix": "osd map", "pool": TEST_POOL, "object": f"object-{i}"}
        waves = [[OSD_STAT, {"prefix": "mon stat"}], [own]]
        r = client.post("/request?wait=1", json=waves, auth=admin_auth)
        assert r.status_code == 200
        job: dict[str, Any] = r.json()
        return job

    with ThreadPoolExecutor(max_workers=24) as pool:
        jobs = list(pool.map(one, range(96)))
    assert len({j["id"] for j in jobs}) == 96
    for i, job in enumerate(jobs):
        assert job["state"] == "success", job
        assert job["finished"][2]["command"] == f"osd map pool={TEST_POOL} object=object-{i}"
        assert f"'object-{i}'" in job["finished"][2]["outb"]
        stat = next(f for f in job["finished"] if f["command"].startswith("osd stat"))
        assert json.loads(stat["outb"])["num_osds"] == num_osds


def test_commands_pass_through_unchanged_like_the_module(
    client: TestClient, admin_auth: Auth, cluster: DevCluster
) -> None:
    # No format is added: `osd stat` answers in Ceph's plain text, as it did in the module.
    r = client.post("/request?wait=1", json={"prefix": "osd stat"}, auth=admin_auth)
    assert r.status_code == 200
    (result,) = r.json()["finished"]
    assert result["command"] == "osd stat"
    num_osds = ceph_cli_json(cluster, "osd", "stat")["num_osds"]
    assert result["outb"].startswith(f"{num_osds} osds: ")


# -- commands the mgr serves ----------------------------------------------------------------------

# What the mgr serves that clients ask most (the cluster's command table flags each FLAG_MGR).
MGR_READS = [
    {"prefix": "osd perf", "format": "json"},
    {"prefix": "osd pool stats", "format": "json"},
    {"prefix": "pg dump", "format": "json"},
    {"prefix": "osd df", "format": "json"},
]
NUMBERS = {"int", "float"}


def test_a_command_the_mgr_serves_goes_to_the_mgr_not_through_a_mon(
    client: TestClient, admin_auth: Auth, cluster: DevCluster
) -> None:
    # A command no one else sends: the mgr's device list of a host that does not exist.
    host = f"cephgw-test-{uuid.uuid4().hex[:12]}"
    job = client.post(
        "/request?wait=1", json={"prefix": "device ls-by-host", "host": host}, auth=admin_auth
    ).json()
    assert_succeeded(job)
    # The mon logs what it is sent in order: once this is there, anything of the job's would be.
    after = f"cephgw-test-after-{uuid.uuid4().hex[:12]}"
    ceph_cli(cluster, "log", after)
    entries = ask_until(
        lambda: audit_log(cluster),
        lambda log: all(any(word in e["message"] for e in log) for word in (host, after)),
        "the audit log shows the job's command and the line logged after it",
        limit=20,
        interval=0.5,
        show=lambda log: "\n".join(f"{e['name']}: {e['message']}" for e in log),
    )
    heard = [e for e in entries if host in e["message"]]
    # Only the mgr heard it, from the gateway's own librados client: no mon passed it on.
    assert [e["name"] for e in heard] == [f"mgr.{cluster.mgr_name}"], heard
    assert re.match(r"from='client\.\d+ -' entity='client\.admin' ", heard[0]["message"]), heard


@pytest.mark.parametrize("command", MGR_READS, ids=lambda c: c["prefix"])
def test_a_command_the_mgr_serves_answers_as_when_a_mon_passed_it_on(
    client: TestClient, admin_auth: Auth, settings: Settings, command: dict[str, Any]
) -> None:
    job = client.post("/request?wait=1", json=command, auth=admin_auth).json()
    assert_succeeded(job)
    [run] = job["finished"]

    async def through_a_mon() -> tuple[int, str, str]:
        async with open_client(settings) as ceph:
            return await ceph.amon_command_result(command)

    ret, outb, outs = anyio.run(through_a_mon)
    assert (run["command"], run["errno"], run["outs"]) == (humanize_command(command), ret, outs)
    # Values move (counters, stamps); names, nesting and types do not (a number is a number:
    # Ceph prints a float that happens to be whole without its point).
    differences = [
        d
        for d in compare_shapes(json.loads(run["outb"]), json.loads(outb))
        if not (d.kind == "type" and {json_type(d.gateway), json_type(d.module)} <= NUMBERS)
    ]
    assert differences == [], differences
