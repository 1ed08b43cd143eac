"""Ceph's own QA flow for the restful module, replayed against cephgw and against the module.

Ceph tests the module with `qa/workunits/rest/test_mgr_rest_api.py`: create a pool with
`?wait=yes`, find it last in GET /pool, read every path, then scrub, re-create the pool,
take osd.0 out, set `pause`, resize the pool, undo both, delete the pool and clean the
request list. Every answer must be a 200 whose JSON has no `error` key. `run_qa_flow` is that
script, written once against a small HTTP adapter (`Http`), with a few additions: it sends
`?wait=1` on every PATCH (so the cluster can be checked right after), it also reads
`/config/cluster/<option>`, `/config/osd`, `/request` and `/perf`, it walks the whole JSON for
an `error` key, it fails a job of ours that failed (`has_failed`, a non-empty `failed`) or, when
waited for, did not succeed, and it asks the cluster itself (`ceph ... --format json`) whether
each write happened. Whatever happens, the cluster is restored (pause unset, osd.0 in, the pool
deleted) before the flow returns: the other tests share it.

It runs against the gateway (in process, with an admin key) and against the live module
(with its own key); the two runs must then agree step by step on the status, the JSON type,
the top-level keys (of the object, or of a list's objects) and the state of a job.
"""

from __future__ import annotations

import json
import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from cli.dev_cluster import DevCluster
from tests.integration.compatibility import KNOWN_DIFFERENCES
from tests.integration.differential import (
    ABSENT,
    Difference,
    RestfulModule,
    ceph_release,
    json_type,
    unexplained,
)
from tests.support.cluster import ceph_cli, ceph_cli_json

pytestmark = pytest.mark.integration

# Distinct pools: the two runs must not see each other's pool, and neither may leave it behind.
GATEWAY_POOL = "qa-flow-cephgw"
MODULE_POOL = "qa-flow-module"
PG_NUM = 128
# The mgr's copy of the OSD map (what the module reads) trails a mon command by a moment.
MAP_SETTLE = 15.0
JOB_KEYS = frozenset({"id", "running", "finished", "failed", "waiting", "state", "has_failed"})
RESIZE = "PATCH /pool/<id>?wait=1"

# Steps whose job fails on the module, and why. The module answers 200 without an `error` key,
# which is all Ceph's QA script checks; the job says otherwise. The run against the module
# must still show each of these (drop an entry once the module no longer has the bug), the
# gateway's job must succeed, and the comparison allows the state to differ there only.
MODULE_BUGS: dict[str, str] = {
    RESIZE: (
        "the module sends `osd pool set` an int `val`; the mon (Pacific on) wants a string and"
        " refuses with \"bad or missing field 'val'\": the job fails and the size stays"
    ),
}


@dataclass(frozen=True)
class Http:
    """How the flow talks to one server: an httpx client with its base URL, and a key.

    FastAPI's TestClient is an httpx.Client, so the gateway in process and the module over
    HTTPS go through the same code.
    """

    name: str
    client: httpx.Client
    auth: tuple[str, str]

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
        # As the QA script: a JSON body on every request, `{}` when there is nothing to send.
        return self.client.request(
            method,
            path,
            content=json.dumps(body or {}),
            headers={"Content-Type": "application/json"},
            auth=self.auth,
        )


@dataclass
class Step:
    """One request of the flow and what came back."""

    label: str  # the step with its variable parts as placeholders: "PATCH /pool/<id>?wait=1"
    path: str  # the path actually requested
    status: int
    media_type: str
    body: Any  # parsed JSON, or None
    waited: bool
    problems: list[str] = field(default_factory=list)

    @property
    def is_job(self) -> bool:
        return isinstance(self.body, dict) and self.body.keys() >= JOB_KEYS

    def shape(self) -> tuple[Any, ...]:
        """What the two runs must agree on: status, JSON type, top-level keys, job state."""
        body = self.body
        kind = json_type(body) if self.media_type == "application/json" else self.media_type
        keys: list[str] = []
        if isinstance(body, dict):
            keys = sorted(body)
        elif isinstance(body, list):
            keys = sorted({k for item in body if isinstance(item, dict) for k in item})
        state = None
        if self.is_job:
            state = body["state"]
            if not self.waited and state in ("pending", "success"):
                # Without ?wait the answer races the mon: either is right.
                state = "pending or success"
        return self.status, kind, tuple(keys), state


@dataclass
class FlowRun:
    """Every step of one run, and everything that went wrong in it."""

    server: str
    steps: list[Step] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # not tied to one step (cluster, restore)
    known: list[str] = field(default_factory=list)  # the known bugs that showed, as expected

    def job_ids(self, *, labels: Collection[str] | None = None) -> set[str]:
        """Our jobs' ids (of the steps with those labels, if given)."""
        return {
            s.body["id"] for s in self.steps if s.is_job and (labels is None or s.label in labels)
        }

    def all_problems(self) -> list[str]:
        out = [f"{s.label}: {p}" for s in self.steps for p in s.problems]
        return out + self.problems

    def report(self) -> str:
        lines = [f"QA flow against {self.server}:"]
        for s in self.steps:
            lines.append(f"  {s.status} {s.label}" + ("" if not s.problems else "  <-- problems"))
        lines += [f"  * {p}" for p in self.all_problems()]
        lines += [f"  (known: {k})" for k in self.known]
        return "\n".join(lines)


class _Stop(Exception):
    """The flow cannot go on (a later step needs something this one did not give)."""


def error_places(value: Any, place: str = "$") -> list[str]:
    """Where in a JSON document an `error` key is, at any depth.

    The QA script's check is `'error' in request.json()`: a key of the top object or, when the
    answer is a list, an item equal to the string "error"; both are caught here.
    """
    out: list[str] = []
    if place == "$" and isinstance(value, list) and "error" in value:
        out.append(f'$/{value.index("error")} (the string "error")')
    if isinstance(value, dict):
        for key, child in value.items():
            if key == "error":
                out.append(f"{place}/error")
            out += error_places(child, f"{place}/{key}")
    elif isinstance(value, list):
        for index, child in enumerate(value):
            out += error_places(child, f"{place}/{index}")
    return out


def job_problems(job: dict[str, Any], *, waited: bool) -> list[str]:
    """What is wrong with one of our jobs: it failed or, waited for, did not succeed."""
    out: list[str] = []
    if job.get("has_failed"):
        out.append(f"job {job.get('id')} has_failed: {job.get('failed')}")
    elif job.get("failed"):
        out.append(f"job {job.get('id')} lists failed commands: {job.get('failed')}")
    if waited and job.get("state") != "success":
        out.append(f"job {job.get('id')} waited for, but its state is {job.get('state')!r}")
    return out


class Flow:
    """One run of the QA flow: requests, checks, and the cluster as the witness."""

    def __init__(
        self,
        http: Http,
        cluster: DevCluster,
        pool_name: str,
        known_bugs: Mapping[str, str] | None = None,
    ) -> None:
        self.http = http
        self.cluster = cluster
        self.pool_name = pool_name
        self.known_bugs = dict(known_bugs or {})  # step label -> why its job fails
        self.run = FlowRun(http.name)

    def call(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        *,
        label: str | None = None,
    ) -> Step:
        """One step of the screenplay, checked as the QA script checks (and a bit more)."""
        response = self.http.call(method, path, body)
        media_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
        parsed: Any = response.json() if media_type == "application/json" else None
        waited = "wait=" in path and method != "GET"
        step = Step(
            label or f"{method} {path}", path, response.status_code, media_type, parsed, waited
        )
        self.run.steps.append(step)
        if step.status != 200:
            step.problems.append(f"status {step.status}: {response.text[:300]}")
        if media_type != "application/json":
            step.problems.append(f"not JSON but {media_type or 'no content type'}")
        step.problems += [f"an `error` key at {p}" for p in error_places(parsed)]
        if step.is_job and step.label in self.known_bugs:
            if parsed.get("has_failed"):
                self.run.known.append(f"{step.label}: {self.known_bugs[step.label]}")
            else:
                step.problems.append(
                    f"expected to fail ({self.known_bugs[step.label]}) but did not: {parsed}"
                )
        elif step.is_job:
            step.problems += job_problems(parsed, waited=step.waited)
        elif isinstance(parsed, list):
            # GET /request: our own jobs in it must not have failed (others' are not ours to judge).
            own = self.run.job_ids() - self.run.job_ids(labels=self.known_bugs.keys())
            for item in parsed:
                if isinstance(item, dict) and item.get("id") in own:
                    step.problems += job_problems(item, waited=False)
        return step

    def witness(self, what: str, ok: bool, detail: Any = "") -> None:
        """A check of the cluster's own state, independent of both servers."""
        if not ok:
            self.run.problems.append(f"cluster: {what} (seen: {detail})")

    # ---- the cluster's view

    def pool_detail(self) -> dict[str, Any] | None:
        for pool in ceph_cli_json(self.cluster, "osd", "pool", "ls", "detail"):
            if pool["pool_name"] == self.pool_name:
                detail: dict[str, Any] = pool
                return detail
        return None

    def osd_dump(self) -> dict[str, Any]:
        dump: dict[str, Any] = ceph_cli_json(self.cluster, "osd", "dump")
        return dump

    def osd0_in(self) -> int:
        return next(int(o["in"]) for o in self.osd_dump()["osds"] if o["osd"] == 0)

    def paused(self) -> bool:
        flags = set(self.osd_dump()["flags"].split(","))
        return {"pauserd", "pausewr"} <= flags

    # ---- the screenplay

    def find_pool_last(self) -> int:
        """GET /pool until our pool is the last one (the module's map trails a moment)."""
        deadline = time.monotonic() + MAP_SETTLE
        while True:
            response = self.http.call("GET", "/pool")
            pools = response.json() if response.status_code == 200 else None
            if isinstance(pools, list) and pools and pools[-1].get("pool_name") == self.pool_name:
                break
            if time.monotonic() > deadline:
                break
            time.sleep(0.5)
        step = self.call("GET", "/pool")
        pools = step.body
        if not (isinstance(pools, list) and pools and isinstance(pools[-1], dict)):
            raise _Stop(f"GET /pool did not list pools: {pools!r:.300}")
        if pools[-1].get("pool_name") != self.pool_name:
            step.problems.append(
                f"the last pool is {pools[-1].get('pool_name')!r}, not {self.pool_name!r}"
            )
            raise _Stop("our pool is not the last in GET /pool")
        pool_id: int = pools[-1]["pool"]
        return pool_id

    def play(self) -> None:
        create = {"name": self.pool_name, "pg_num": PG_NUM}
        self.call("POST", "/pool?wait=yes", create)
        pool = self.pool_detail()
        self.witness(f"pool {self.pool_name} exists after POST /pool", pool is not None)
        if pool is not None:
            # The autoscaler (pg_autoscale_mode on) may lower pg_num_target later, but pg_num
            # itself only shrinks after PG merges: right after creation it is what we asked.
            self.witness(
                f"pool {self.pool_name} has pg_num {PG_NUM}",
                pool["pg_num"] == PG_NUM,
                {k: pool.get(k) for k in ("pg_num", "pg_num_target", "pg_autoscale_mode")},
            )

        pool_id = self.find_pool_last()
        if pool is not None:
            self.witness("GET /pool shows the pool's id", pool["pool_id"] == pool_id, pool_id)

        mons = self.call("GET", "/mon").body
        if not (isinstance(mons, list) and mons and "name" in mons[0]):
            raise _Stop(f"GET /mon did not list mons: {mons!r:.300}")
        first_mon = mons[0]["name"]
        osds = self.call("GET", "/osd").body
        if not (isinstance(osds, list) and osds and "server" in osds[0]):
            raise _Stop(f"GET /osd did not list OSDs with a server: {osds!r:.300}")
        a_server = osds[0]["server"]

        for path in (
            "/",
            "/config/cluster",
            "/config/cluster/osd_pool_default_size",
            "/config/osd",
            "/crush/rule",
            "/doc",
            "/mon",
            "/osd",
            "/osd/0",
            "/osd/0/command",
            "/request",
            "/server",
            "/perf",
        ):
            self.call("GET", path)
        self.call("GET", f"/mon/{first_mon}", label="GET /mon/<name>")
        self.call("GET", f"/pool/{pool_id}", label="GET /pool/<id>")
        self.call("GET", f"/server/{a_server}", label="GET /server/<hostname>")

        self.call("POST", "/osd/0/command", {"command": "scrub"})
        # Ceph answers success for a pool that already exists; so must the job.
        self.call("POST", "/pool?wait=1", create)
        self.witness("the pool is still there", self.pool_detail() is not None)

        self.call("PATCH", "/osd/0?wait=1", {"in": False})
        self.witness("osd.0 is out", self.osd0_in() == 0, self.osd_dump()["osds"][0])
        self.call("PATCH", "/config/osd?wait=1", {"pause": True})
        self.witness("pauserd and pausewr are set", self.paused(), self.osd_dump()["flags"])
        flags = self.call("GET", "/config/osd").body
        if isinstance(flags, list) and "pause" not in flags:
            self.run.steps[-1].problems.append(f"`pause` is not listed: {flags}")

        self.call("PATCH", f"/pool/{pool_id}?wait=1", {"size": 2}, label=RESIZE)
        pool = self.pool_detail()
        size = pool["size"] if pool else None
        if RESIZE in self.known_bugs:
            self.witness("the failed resize left the size as it was", size == 1, size)
        else:
            self.witness("the pool's size is 2", size == 2, size)

        self.call("PATCH", "/config/osd?wait=1", {"pause": False})
        self.witness("pause is unset", not self.paused(), self.osd_dump()["flags"])
        self.call("PATCH", "/osd/0?wait=1", {"in": True})
        self.witness("osd.0 is in", self.osd0_in() == 1, self.osd_dump()["osds"][0])

        self.call("GET", "/pool")
        self.call("DELETE", f"/pool/{pool_id}?wait=1", label="DELETE /pool/<id>?wait=1")
        self.witness("the pool is gone", self.pool_detail() is None)

        self.call("GET", "/request?page=0")
        self.call("DELETE", "/request")
        remaining = self.call("GET", "/request").body
        if isinstance(remaining, list):
            finished = {
                s.body["id"] for s in self.run.steps if s.is_job and s.body.get("is_finished")
            }
            left = [j.get("id") for j in remaining if isinstance(j, dict)]
            still = finished & set(left)
            if still:
                self.run.steps[-1].problems.append(f"DELETE /request left finished jobs: {still}")


def restore(cluster: DevCluster, pool_name: str) -> list[str]:
    """Put the cluster back as the other tests expect it; what could not be undone."""
    failures: list[str] = []
    for args in (
        ("osd", "unset", "pause"),
        ("osd", "in", "0"),
        ("osd", "pool", "delete", pool_name, pool_name, "--yes-i-really-really-mean-it"),
    ):
        try:
            ceph_cli(cluster, *args)
        except Exception as exc:  # every step is tried, and each failure reported
            failures.append(f"restore: ceph {' '.join(args)} failed: {exc}")
    return failures


def run_qa_flow(
    http: Http, cluster: DevCluster, pool_name: str, known_bugs: Mapping[str, str] | None = None
) -> FlowRun:
    """Play the QA flow against one server; the cluster is restored whatever happens."""
    flow = Flow(http, cluster, pool_name, known_bugs)
    try:
        flow.play()
    except _Stop as stop:
        flow.run.problems.append(f"the flow stopped early: {stop}")
    finally:
        flow.run.problems += restore(cluster, pool_name)
    return flow.run


# --------------------------------------------------------------------------- the runs


@pytest.fixture(scope="module")
def gateway_run(client: TestClient, admin_auth: tuple[str, str], cluster: DevCluster) -> FlowRun:
    return run_qa_flow(Http("cephgw", client, admin_auth), cluster, GATEWAY_POOL)


@pytest.fixture(scope="module")
def module_run(restful_module: RestfulModule, cluster: DevCluster) -> FlowRun:
    http = Http("the restful module", restful_module.http, restful_module.auth)
    return run_qa_flow(http, cluster, MODULE_POOL, MODULE_BUGS)


def test_qa_flow_against_cephgw(gateway_run: FlowRun) -> None:
    if gateway_run.all_problems():
        pytest.fail(gateway_run.report(), pytrace=False)


def without_known_extra_keys(
    label: str, gateway: tuple[Any, ...], module: tuple[Any, ...]
) -> tuple[Any, ...]:
    """The gateway's step shape less the top-level keys that KNOWN_DIFFERENCES lets it have
    more than this release's module (`GET /crush/rule`: Pacific's rule fields)."""
    method, _, path = label.partition(" ")
    if method != "GET" or gateway[1] != module[1]:
        return gateway
    keys: tuple[str, ...] = gateway[2]
    place = "$/0/{}" if gateway[1] == "list" else "$/{}"
    known = [
        key
        for key in set(keys) - set(module[2])
        if not unexplained(
            path,
            [Difference(place.format(key), "extra", None, ABSENT)],
            KNOWN_DIFFERENCES,
            ceph_release(),
        )
    ]
    return (gateway[0], gateway[1], tuple(k for k in keys if k not in known), *gateway[3:])


# Enabling the module restarts the mgr, and it answers one request at a time: allow for both.
@pytest.mark.needs_module
@pytest.mark.timeout(900)
def test_qa_flow_against_the_restful_module(module_run: FlowRun) -> None:
    if module_run.all_problems():
        pytest.fail(module_run.report(), pytrace=False)


@pytest.mark.needs_module
@pytest.mark.timeout(900)
def test_cephgw_and_the_module_agree_step_by_step(
    gateway_run: FlowRun, module_run: FlowRun
) -> None:
    if [s.label for s in gateway_run.steps] != [s.label for s in module_run.steps]:
        pytest.fail(
            "the runs did not take the same steps\n"
            + gateway_run.report()
            + "\n"
            + module_run.report(),
            pytrace=False,
        )
    differences = []
    for g, m in zip(gateway_run.steps, module_run.steps, strict=True):
        gateway_shape, module_shape = g.shape(), m.shape()
        gateway_shape = without_known_extra_keys(g.label, gateway_shape, module_shape)
        if g.label in MODULE_BUGS:
            # The state may differ here (success vs failed); nothing else may.
            gateway_shape, module_shape = gateway_shape[:-1], module_shape[:-1]
        if gateway_shape != module_shape:
            differences.append(f"  {g.label}: cephgw {g.shape()} vs module {m.shape()}")
    if differences:
        pytest.fail(
            "(status, JSON type, top-level keys, job state) differ:\n" + "\n".join(differences),
            pytrace=False,
        )
