"""What routers get from the app, as dependency aliases: the app's state, the key a request
carries, and the job runner of the write routes. The one place that reads the app's state."""

from __future__ import annotations

import json
from typing import Annotated, Any, TypedDict, cast

from cryptography import x509
from fastapi import Depends, Query, Request
from fastapi.dependencies.models import Dependant
from fastapi.responses import Response
from fastapi.routing import APIRoute
from pydantic import WithJsonSchema
from starlette.datastructures import State

from app.auth import Identity, KeyStore, Role, basic_auth, require_role
from app.ceph.client import CephClient
from app.ceph.commands import (
    CommandTableCache,
    DenyRule,
    check_not_denied,
    check_read_only,
    check_valid,
)
from app.ceph.maps import ClusterMaps
from app.ceph.perf import PerfSchemaCache
from app.errors import Forbidden, TooManyRequests, Unauthorized
from app.jobs import JobTable, Waves
from app.metrics import GatewayMetrics
from app.settings import Settings
from app.tls_reload import ServedCertificate


class AppState(TypedDict):
    """What the lifespan opens for the app's lifetime (app/main.py), and every request sees."""

    settings: Settings
    ceph: CephClient
    keys: KeyStore
    jobs: JobTable
    metrics: GatewayMetrics
    maps: ClusterMaps
    perf_cache: PerfSchemaCache
    commands: CommandTableCache
    deny_rules: list[DenyRule]
    tls_certificate: ServedCertificate | None  # None: plain HTTP


def app_state(request: Request) -> AppState:
    # Starlette copies the lifespan's state into each request's scope; its type is ours. Every
    # getter below is `async def`: FastAPI runs a plain `def` dependency in a worker thread.
    return cast(AppState, request.scope["state"])


async def get_ceph(request: Request) -> CephClient:
    return app_state(request)["ceph"]


async def get_key_store(request: Request) -> KeyStore:
    return app_state(request)["keys"]


async def get_settings(request: Request) -> Settings:
    return app_state(request)["settings"]


async def get_jobs(request: Request) -> JobTable:
    return app_state(request)["jobs"]


async def get_maps(request: Request) -> ClusterMaps:
    """The cluster-state cache every read is answered from."""
    return app_state(request)["maps"]


async def get_metrics(request: Request) -> GatewayMetrics:
    return app_state(request)["metrics"]


async def get_perf_cache(request: Request) -> PerfSchemaCache:
    """Perf schemas outlive requests: one cache for the app."""
    return app_state(request)["perf_cache"]


async def get_served_certificate(request: Request) -> x509.Certificate | None:
    """The certificate this process serves, None for plain HTTP (for /readyz)."""
    served = app_state(request)["tls_certificate"]
    return served.certificate if served else None


CephDep = Annotated[CephClient, Depends(get_ceph)]
JobTableDep = Annotated[JobTable, Depends(get_jobs)]
KeyStoreDep = Annotated[KeyStore, Depends(get_key_store)]
MapsDep = Annotated[ClusterMaps, Depends(get_maps)]
MetricsDep = Annotated[GatewayMetrics, Depends(get_metrics)]
PerfCacheDep = Annotated[PerfSchemaCache, Depends(get_perf_cache)]
ServedCertificateDep = Annotated[x509.Certificate | None, Depends(get_served_certificate)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


# -- keys -------------------------------------------------------------------------------------


async def require_key(
    request: Request,
    credentials: Annotated[tuple[str, str] | None, Depends(basic_auth)],
) -> Identity:
    """Any valid key (admin or read-only)."""
    # The store from the app's state, not a dependency of its own: every route asks for a
    # key, and each dependency FastAPI solves adds to the cost of every request.
    keys = app_state(request)["keys"]
    if credentials is None:
        _auth_failed(request, "missing")
        raise Unauthorized("Authentication required: HTTP Basic with a key name and key")
    client = request.client.host if request.client else None
    try:
        identity = await keys.authenticate(*credentials, client=client)
    except Unauthorized:
        _auth_failed(request, "invalid")
        raise
    except TooManyRequests:
        _auth_failed(request, "throttled")
        raise
    request.state.key_name = identity.name  # for the access log and the audit
    request.state.key_role = identity.role.value
    return identity


KeyDep = Annotated[Identity, Depends(require_key)]


async def require_admin_key(request: Request, identity: KeyDep) -> Identity:
    """An admin key."""
    try:
        return require_role(identity, Role.ADMIN)
    except Forbidden:
        _auth_failed(request, "forbidden")
        raise


def _auth_failed(request: Request, reason: str) -> None:
    app_state(request)["metrics"].auth_failed(reason)


AdminKeyDep = Annotated[Identity, Depends(require_admin_key)]


async def check_key_before_body(request: Request) -> None:
    """The key checks a malformed JSON body must not jump ahead of.

    FastAPI decodes a JSON body before any dependency runs, so `{"name": ` would answer 422
    to a caller with no key or the wrong role. The validation handler calls this first: the
    key, then the admin role where the route itself depends on it (POST /request does not:
    a read-only key may run commands that only read, which only its body can tell).
    """
    identity = await require_key(request, await basic_auth(request))
    route = request.scope.get("route")
    if isinstance(route, APIRoute) and _depends_on(route.dependant, require_admin_key):
        await require_admin_key(request, identity)


def _depends_on(dependant: Dependant, call: object) -> bool:
    return dependant.call is call or any(_depends_on(d, call) for d in dependant.dependencies)


# -- POST /request ----------------------------------------------------------------------------


class CommandPolicy:
    """Which commands the request's key may run through POST /request: none that the deny-list
    refuses; for a read-only key, only those the cluster's command table marks as only reading
    (a 403 naming the first other one, before any job exists); and only commands that table
    takes, with their arguments (400)."""

    def __init__(
        self,
        identity: Identity,
        deny_rules: list[DenyRule],
        tables: CommandTableCache,
    ) -> None:
        self._identity = identity
        self._deny_rules = deny_rules
        self._tables = tables

    async def allowed(self, waves: Waves) -> Waves:
        """`waves`, once every command is allowed, and valid for the cluster's command table
        (400 naming the first that is not: none reaches the mon)."""
        check_not_denied(waves, self._deny_rules)
        table = await self._tables.get()
        if self._identity.role is Role.READ_ONLY:
            check_read_only(waves, table, self._identity.name)
        check_valid(waves, table)
        return waves


# -- jobs -------------------------------------------------------------------------------------

# ?wait= values that mean "do not wait" (the module waited on any non-empty value).
_NO_WAIT = frozenset({"", "0", "false", "no"})
# ?wait= in the spec: a boolean for generated clients (they send `true`/`false`), or the
# module's strings (`1`, `yes`...); the value is read as text either way.
WAIT_SCHEMA: dict[str, Any] = {
    "anyOf": [{"type": "boolean"}, {"type": "string"}],
    "examples": [True, "1"],
}

WAIT_DESCRIPTION = (
    "Block until the job finishes, up to the gateway's job_wait_timeout (then 202, the job as "
    "it stands). Any value but empty, `0`, `false` or `no` waits: `true` or the module's `1` "
    "and `yes`. Left out: answer at once, the first wave running."
)
WaitQuery = Annotated[str | None, WithJsonSchema(WAIT_SCHEMA), Query(description=WAIT_DESCRIPTION)]


def wants_wait(value: str | None) -> bool:
    """`?wait=` → whether to block: any value but none, empty, `0`, `false`, `no`."""
    return value is not None and value.strip().lower() not in _NO_WAIT


class JobRunner:
    """A write route's last step: run its waves as a job and answer the job's JSON, with 200,
    or with 202 when ?wait=1 ran out of `job_wait_timeout` first. The job's id (and its
    state, when waited for) go on the request's state, for the audit."""

    def __init__(
        self, jobs: JobTable, wait: bool, state: State, tables: CommandTableCache, ceph: CephClient
    ) -> None:
        self._jobs = jobs
        self._wait = wait
        self._state = state
        self._tables = tables
        self._ceph = ceph

    async def run(self, waves: Waves) -> Response:
        if (await self._tables.get()).served_by_mgr(waves) is not None:
            # The job would wait out its timeout for a mgr (librados holds a mgr command
            # until one is active), as POST /osd/{id}/command's scrubs would: 503 now.
            await self._ceph.require_active_mgr()
        # 503 when the table is closed or full. The key was checked by the route's key
        # dependency, which FastAPI solves first: its name goes into the job's record.
        job = await self._jobs.start(
            waves, str(getattr(self._state, "key_name", "")), at_once=self._wait
        )
        self._state.job_id = job.id
        done = not self._wait or await self._jobs.wait(job)
        if self._wait:
            self._state.job_state = job.state
        # The job's JSON is the route's response model (`Job`) already: rendered as Starlette's
        # JSONResponse renders it (the same bytes, one encoder for all), without validating
        # it again on every write.
        return Response(
            _JSON_BODY.encode(job.to_json()).encode(),
            status_code=200 if done else 202,
            media_type="application/json",
        )


# What Starlette's JSONResponse writes (it makes an encoder an answer).
_JSON_BODY = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def _job_runner(request: Request, wait: str | None) -> JobRunner:
    state = app_state(request)
    return JobRunner(
        state["jobs"], wants_wait(wait), request.state, state["commands"], state["ceph"]
    )


async def get_job_runner(request: Request, wait: WaitQuery = None) -> JobRunner:
    return _job_runner(request, wait)


JobRunnerDep = Annotated[JobRunner, Depends(get_job_runner)]


class CommandRunner:
    """POST /request's last step: the commands, once the key's `CommandPolicy` allows them,
    run as a job by its `JobRunner`."""

    def __init__(self, policy: CommandPolicy, runner: JobRunner) -> None:
        self._policy = policy
        self._runner = runner

    async def run(self, waves: Waves) -> Response:
        return await self._runner.run(await self._policy.allowed(waves))


async def get_command_runner(request: Request) -> CommandRunner:
    # One dependency for the key, ?wait=, the policy and the runner: `basic_auth` and
    # `require_key` called and the query read here, not dependencies and parameters FastAPI
    # solves (the route's spec declares them: COMMAND_RUNNER_SPEC), and the deny-list
    # (parsed once at start-up) and the command tables from the app's state. Every one
    # FastAPI solves costs every request: on POST /request?wait=1, solving `basic_auth` was
    # 94 of its 1,366 Python function calls, and ?wait= as a parameter 148 of the 1,272 left.
    identity = await require_key(request, await basic_auth(request))
    state = app_state(request)
    policy = CommandPolicy(identity, state["deny_rules"], state["commands"])
    return CommandRunner(policy, _job_runner(request, request.query_params.get("wait")))


CommandRunnerDep = Annotated[CommandRunner, Depends(get_command_runner)]
# What a `basic_auth` dependency and a WaitQuery parameter put in the spec, for the route
# whose CommandRunnerDep reads them itself (its `openapi_extra`; test_openapi compares the
# spec with the committed one).
COMMAND_RUNNER_SPEC: dict[str, Any] = {
    "security": [{type(basic_auth).__name__: []}],
    "parameters": [
        {
            "name": "wait",
            "in": "query",
            "required": False,
            "schema": {**WAIT_SCHEMA, "title": "Wait"},
            "description": WAIT_DESCRIPTION,
        }
    ],
}
