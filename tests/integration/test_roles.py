"""The read-only role cannot change anything, and nothing but the open pages answers without a
key or with a wrong one.

Every route of the app is enumerated (`create_app(settings).routes`, flattened: this FastAPI
keeps an included router as one entry), every method of it. Each route that is not a GET or
HEAD is sent, with a read-only key, a request that would otherwise succeed: its path filled
with values that exist (osd 0, a scratch pool of this module's own) and a plausible body. It
must answer 403 with the role's JSON message, and so it must when the ids do not exist, when
the body does not fit the schema and when the body is not JSON at all: the role is checked
before the body is read and before anything is looked up. A 404 or a 422 to a read-only key
is a gateway bug (it tells a client who may not write what exists, and it means a lookup ran
for nobody).

Every route but the open ones must answer 401, with its JSON message and a Basic challenge,
without a key and with a wrong one (a wrong secret, a name no key has), whether its ids exist
or not, and with its query parameters absent, set, or set to what does not parse: the key is
checked before anything is looked up or read.

The plausible requests are harmless even if a check were missing: the scratch pool is ours,
osd.0 is already in, `noscrub` is already unset, `osd stat` only reads.

`test_the_checks_catch_a_route_without_the_admin_check` adds such a forgetful route to an app
of its own and proves the checks below flag it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient

from app.auth import Identity, Role, require_role
from app.deps import KeyDep, require_admin_key
from app.errors import Forbidden
from app.main import create_app
from app.settings import Settings
from cli.dev_cluster import DevCluster
from tests.support.cluster import ceph_cli, ceph_cli_json
from tests.support.server import wait_until_ready

pytestmark = pytest.mark.integration

Auth = tuple[str, str]

SAFE_METHODS = frozenset({"GET", "HEAD"})

# Routes that answer without a key, and why. A new one fails test_only_these_routes_are_open.
OPEN_ROUTES: dict[str, str] = {
    "/": "how to use the API, no key in the module either",
    "/doc": "the endpoint map, no key in the module either",
    "/redoc": "a documentation page",
    "/openapi.json": "the API's description, for the documentation pages and SDK generators",
    "/doc/static": "the documentation pages' own files (a mount)",
    "/healthz": "liveness probe: says nothing about the cluster",
    "/readyz": "readiness probe, for load balancers that cannot send a key",
}

SCRATCH_POOL = "roles-scratch"
NO_SUCH_ID = 999_999
# Values that exist, for the path parameters that are not ids (mon a is in every test cluster;
# the `fqdn` of /server/{fqdn}, the host's name, is found by the filler fixture).
EXISTING_NAMES: dict[str, str] = {"name": "a", "key": "osd_pool_default_size"}
# A query parameter's value that parses (as an id, a pattern, a flag) and one that does not.
QUERY_VALUES = ("1", "(")

# What a request without a key, and one with a wrong key, is told (app/deps.py, app/auth.py).
NO_KEY_MESSAGE = "Authentication required"  # then how to authenticate
WRONG_KEY_MESSAGE = "Invalid credentials"

# Requests that would succeed (and change nothing) were the role not checked, by route.
PLAUSIBLE_BODIES: dict[tuple[str, str], Any] = {
    ("POST", "/pool"): {"name": SCRATCH_POOL, "pg_num": 1},
    ("PATCH", "/pool/{pool_id}"): {"size": 1},
    ("PATCH", "/osd/{osd_id}"): {"in": True},
    ("POST", "/osd/{osd_id}/command"): {"command": "scrub"},
    ("PATCH", "/config/osd"): {"noscrub": False},
    ("POST", "/request"): {
        "prefix": "osd pool set",
        "pool": SCRATCH_POOL,
        "var": "size",
        "val": "1",
    },
}
# Write routes where the body decides whether a read-only key may go on, and why. They check
# the role after the body (a bad one is a 400 or 422 to any key), and refuse a write with a
# 403 naming the command; tests/integration/routers/test_request.py has the commands a
# read-only key may run.
BODY_DECIDES: dict[tuple[str, str], str] = {
    ("POST", "/request"): "a read-only key may run the commands that only read",
}
# For a route not in the table that takes a body; the role must stop it whatever it holds.
DEFAULT_BODY: Any = {}


@dataclass(frozen=True)
class Route:
    """One method of one route, as the app serves it (prefix included)."""

    method: str
    path: str  # as declared, e.g. /pool/{pool_id}
    path_params: dict[str, Any]  # name -> annotation
    takes_body: bool
    dependant: Dependant | None  # None for a route that is not an APIRoute
    query_params: tuple[str, ...] = ()  # names

    def __str__(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def is_write(self) -> bool:
        return self.method not in SAFE_METHODS

    @property
    def body_decides(self) -> bool:
        return (self.method, self.path) in BODY_DECIDES


def _dependants(dependant: Dependant) -> Iterator[Dependant]:
    yield dependant
    for sub in dependant.dependencies:
        yield from _dependants(sub)


def routes_of(app: FastAPI) -> list[Route]:
    """Every method of every route of `app`, included routers flattened."""
    out: list[Route] = []
    for context in iter_route_contexts(app.routes):
        path = context.path or ""
        if not isinstance(context.original_route, APIRoute):
            # openapi.json, mounts: no dependant to look at, HTTP only.
            methods = context.methods or {"GET"}
            out += [Route(m, path, {}, False, None) for m in sorted(methods)]
            continue
        dependant: Dependant = context.dependant
        params = {
            f.name: f.field_info.annotation for d in _dependants(dependant) for f in d.path_params
        }
        # A route whose dependency reads a parameter itself declares it in `openapi_extra`.
        extra = context.original_route.openapi_extra or {}
        declared = {p["name"] for p in extra.get("parameters", []) if p.get("in") == "query"}
        solved = {f.name for d in _dependants(dependant) for f in d.query_params}
        query = tuple(sorted(solved | declared))
        takes_body = context.body_field is not None
        for method in sorted(context.methods or ()):
            out.append(Route(method, path, params, takes_body, dependant, query))
    return out


def checks_admin(route: Route) -> bool:
    """Whether the admin check is among the route's dependencies (at any depth)."""
    return route.dependant is not None and any(
        d.call is require_admin_key for d in _dependants(route.dependant)
    )


@dataclass(frozen=True)
class Filler:
    """Values for a route's path parameters: ones that exist, or ones that do not."""

    pool_id: int
    names: dict[str, str]  # parameter -> a value that exists, for those that are not ids

    def path(self, route: Route, *, existing: bool = True) -> str:
        values: dict[str, str] = {}
        for name, annotation in route.path_params.items():
            if annotation is int:
                if not existing:
                    values[name] = str(NO_SUCH_ID)
                elif name == "pool_id":
                    values[name] = str(self.pool_id)
                else:
                    values[name] = "0"
            else:
                values[name] = self.names.get(name, "x") if existing else "no-such-thing"
        return route.path.format(**values)

    def urls(self, route: Route, *, existing: bool = True) -> list[str]:
        """The path, then with every query parameter set to each of QUERY_VALUES."""
        path = self.path(route, existing=existing)
        queries = ["&".join(f"{q}={value}" for q in route.query_params) for value in QUERY_VALUES]
        return [path] + [f"{path}?{query}" for query in queries if route.query_params]


# A body as bytes, or None for no body at all.
BodyFor = Callable[[Route], bytes | None]


def plausible_body(route: Route) -> bytes | None:
    if not route.takes_body:
        return None
    body = PLAUSIBLE_BODIES.get((route.method, route.path), DEFAULT_BODY)
    return httpx.Request("POST", "http://x", json=body).content


def body_against_the_schema(route: Route) -> bytes | None:
    # Well-formed JSON that no route's schema accepts.
    return b'["not", "what", "any", "route", "takes"]' if route.takes_body else None


def body_not_json(route: Route) -> bytes | None:
    return b'{"name": ' if route.takes_body else None


def send(
    client: TestClient, route: Route, url: str, body: bytes | None, auth: Auth | None
) -> httpx.Response:
    headers = {"Content-Type": "application/json"} if body is not None else {}
    response: httpx.Response = client.request(
        route.method, url, content=body, headers=headers, auth=auth
    )
    return response


def role_message(key_name: str, route: Route) -> str:
    """The message of the role check's 403, as the gateway words it for this key and route."""
    if route.body_decides:
        return f"key {key_name!r} is read-only and '"  # then the command, and why
    try:
        require_role(Identity(key_name, Role.READ_ONLY), Role.ADMIN)
    except Forbidden as refused:
        return refused.message
    raise AssertionError("require_role let a read-only key through to an admin route")


def _is_role_refusal(response: httpx.Response, key_name: str, route: Route) -> bool:
    message = _json_message(response) or ""
    expected = role_message(key_name, route)
    matches = message.startswith(expected) if route.body_decides else message == expected
    return response.status_code == 403 and matches


def _json_message(response: httpx.Response) -> str | None:
    if response.headers.get("content-type", "").split(";")[0] != "application/json":
        return None
    body = response.json()
    message = body.get("message") if isinstance(body, dict) else None
    return message if isinstance(message, str) else None


def refused_writes(
    client: TestClient,
    routes: list[Route],
    auth: Auth,
    filler: Filler,
    *,
    existing: bool = True,
    body: BodyFor = plausible_body,
) -> list[str]:
    """Every write route that does not answer the read-only key the role's 403, and what it did.

    A route whose body decides (BODY_DECIDES) is only sent the plausible body: with another
    it answers 400 or 422 as it does to any key.
    """
    failures: list[str] = []
    for route in routes:
        if not route.is_write or not (existing or route.path_params):
            continue
        if route.body_decides and body is not plausible_body:
            continue
        url = filler.path(route, existing=existing)
        response = send(client, route, url, body(route), auth)
        if not _is_role_refusal(response, auth[0], route):
            failures.append(f"{route.method} {url}: {response.status_code} {response.text[:200]!r}")
    return failures


def _unauthenticated_answers(
    client: TestClient,
    routes: list[Route],
    filler: Filler,
    auth: Auth | None,
    is_expected: Callable[[Any], bool],
    *,
    existing: bool,
) -> list[str]:
    """Every route outside OPEN_ROUTES, at each of its URLs, that does not answer `auth` a 401
    with a Basic challenge and a JSON body `is_expected` takes, and what it did."""
    failures: list[str] = []
    for route in routes:
        if route.path in OPEN_ROUTES or not (existing or route.path_params):
            continue
        for url in filler.urls(route, existing=existing):
            response = send(client, route, url, plausible_body(route), auth)
            if (
                response.status_code != 401
                or not _json_message(response)
                or not is_expected(response.json())
                or not response.headers.get("www-authenticate", "").startswith("Basic ")
            ):
                text = response.text[:200]
                failures.append(f"{route.method} {url}: {response.status_code} {text!r}")
    return failures


def keyless_answers(
    client: TestClient, routes: list[Route], filler: Filler, *, existing: bool = True
) -> list[str]:
    """Every route outside OPEN_ROUTES that does not answer 401 (JSON, challenge) without a key."""
    return _unauthenticated_answers(
        client,
        routes,
        filler,
        None,
        lambda body: body["message"].startswith(NO_KEY_MESSAGE),
        existing=existing,
    )


def wrong_key_answers(
    client: TestClient, routes: list[Route], filler: Filler, auth: Auth, *, existing: bool = True
) -> list[str]:
    """Every route outside OPEN_ROUTES that does not answer a wrong key the 401 (JSON, challenge)
    of invalid credentials."""
    return _unauthenticated_answers(
        client,
        routes,
        filler,
        auth,
        lambda body: body == {"message": WRONG_KEY_MESSAGE},
        existing=existing,
    )


def wrong_keys(admin_auth: Auth) -> list[Auth]:
    """A key's name with a wrong secret (two ways), and a name no key has."""
    name, secret = admin_auth
    return [(name, "wrong"), (name, secret + "x"), ("nobody", "nothing")]


def unguarded(routes: list[Route]) -> list[str]:
    """Write routes without the admin check among their dependencies (BODY_DECIDES aside)."""
    return [
        str(r)
        for r in routes
        if r.is_write and r.dependant is not None and not checks_admin(r) and not r.body_decides
    ]


def fail_on(failures: list[str], title: str) -> None:
    if failures:
        pytest.fail("\n  ".join([title, *failures]), pytrace=False)


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def scratch_pool(cluster: DevCluster) -> Iterator[int]:
    """A pool of our own, for the routes that take a pool id (one PG: cheap to make)."""
    ceph_cli(cluster, "osd", "pool", "create", SCRATCH_POOL, "1")
    try:
        pools = ceph_cli_json(cluster, "osd", "pool", "ls", "detail")
        yield next(int(p["pool_id"]) for p in pools if p["pool_name"] == SCRATCH_POOL)
    finally:
        ceph_cli(
            cluster,
            "osd",
            "pool",
            "delete",
            SCRATCH_POOL,
            SCRATCH_POOL,
            "--yes-i-really-really-mean-it",
        )


@pytest.fixture(scope="module")
def filler(cluster: DevCluster, scratch_pool: int) -> Filler:
    host: str = ceph_cli_json(cluster, "mon", "metadata", "a")["hostname"]
    return Filler(pool_id=scratch_pool, names={**EXISTING_NAMES, "fqdn": host})


@pytest.fixture(scope="module")
def routes(settings: Settings) -> list[Route]:
    return routes_of(create_app(settings))


# --------------------------------------------------------------------------- the enumeration


def test_the_enumeration_sees_the_write_routes(routes: list[Route]) -> None:
    writes = {str(r) for r in routes if r.is_write}
    # Were the enumeration to miss included routers, it would find nothing to check.
    assert {"POST /request", "DELETE /request", "DELETE /request/{request_id}"} <= writes
    stale = [f"{m} {p}" for m, p in PLAUSIBLE_BODIES if f"{m} {p}" not in writes]
    assert not stale, f"PLAUSIBLE_BODIES names routes the app does not have: {stale}"


def test_the_enumeration_sees_the_query_and_path_parameters(routes: list[Route]) -> None:
    # Were the query parameters missed, the 401s below would be checked without a query string.
    queries = {str(r): r.query_params for r in routes}
    assert queries["GET /osd"] == ("pool",)
    assert queries["GET /perf"] == ("daemon", "page")
    assert queries["POST /request"] == ("wait",)
    names = {name for r in routes for name in r.path_params}
    stale = sorted({*EXISTING_NAMES, "fqdn"} - names)
    assert not stale, f"EXISTING_NAMES names path parameters the app does not have: {stale}"


def test_every_write_route_depends_on_the_admin_check(routes: list[Route]) -> None:
    assert not unguarded(routes), "write routes without AdminKeyDep"
    writes = {(r.method, r.path) for r in routes if r.is_write}
    stale = sorted(set(BODY_DECIDES) - writes)
    assert not stale, f"BODY_DECIDES names routes the app does not have: {stale}"
    # A route whose body decides must not depend on the admin check: it would refuse every
    # read-only key whatever its body.
    assert not [str(r) for r in routes if r.body_decides and checks_admin(r)]


def test_where_the_body_decides_a_bad_body_is_a_400_or_422_to_a_read_only_key(
    client: TestClient, routes: list[Route], read_only_auth: Auth, filler: Filler
) -> None:
    for route in (r for r in routes if r.body_decides):
        url = filler.path(route)
        schema = send(client, route, url, body_against_the_schema(route), read_only_auth)
        assert schema.status_code == 422, schema.text
        not_json = send(client, route, url, body_not_json(route), read_only_auth)
        assert not_json.status_code == 400, not_json.text


# --------------------------------------------------------------------------- read-only key


def test_a_read_only_key_is_refused_every_write(
    client: TestClient, routes: list[Route], read_only_auth: Auth, filler: Filler
) -> None:
    failures = refused_writes(client, routes, read_only_auth, filler)
    fail_on(failures, "not the role's 403 to a read-only key:")


def test_the_role_is_checked_before_any_lookup(
    client: TestClient, routes: list[Route], read_only_auth: Auth, filler: Filler
) -> None:
    failures = refused_writes(client, routes, read_only_auth, filler, existing=False)
    fail_on(failures, "ids that do not exist, read-only key:")


def test_the_role_is_checked_before_the_body_is_validated(
    client: TestClient, routes: list[Route], read_only_auth: Auth, filler: Filler
) -> None:
    failures = refused_writes(client, routes, read_only_auth, filler, body=body_against_the_schema)
    fail_on(failures, "a body against the schema, read-only key:")


def test_the_role_is_checked_before_the_body_is_parsed(
    client: TestClient, routes: list[Route], read_only_auth: Auth, filler: Filler
) -> None:
    failures = refused_writes(client, routes, read_only_auth, filler, body=body_not_json)
    fail_on(failures, "a body that is not JSON, read-only key:")


def test_a_read_only_key_reads_every_list_route(
    client: TestClient, routes: list[Route], read_only_auth: Auth
) -> None:
    lists = [r for r in routes if r.method == "GET" and not r.path_params and r.dependant]
    failures = [
        f"GET {r.path}: {response.status_code} {response.text[:200]!r}"
        for r in lists
        if (response := client.get(r.path, auth=read_only_auth)).status_code != 200
    ]
    fail_on(failures, "not a 200 to a read-only key:")


# --------------------------------------------------------------------------- no key


def test_every_route_but_the_open_ones_is_401_without_a_key(
    client: TestClient, routes: list[Route], filler: Filler
) -> None:
    failures = keyless_answers(client, routes, filler)
    failures += keyless_answers(client, routes, filler, existing=False)
    fail_on(failures, "not a 401 without credentials:")


def test_every_route_but_the_open_ones_is_401_with_a_wrong_key(
    client: TestClient, routes: list[Route], filler: Filler, admin_auth: Auth
) -> None:
    failures = []
    for auth in wrong_keys(admin_auth):
        for existing in (True, False):
            answers = wrong_key_answers(client, routes, filler, auth, existing=existing)
            failures += [f"{answer} (name {auth[0]!r}, a wrong key)" for answer in answers]
    fail_on(failures, "not the 401 of a wrong key:")


def test_without_a_key_the_body_is_not_parsed_either(
    client: TestClient, routes: list[Route], filler: Filler
) -> None:
    failures = []
    for route in routes:
        if route.path in OPEN_ROUTES or not route.takes_body:
            continue
        url = filler.path(route)
        response = send(client, route, url, body_not_json(route), None)
        if response.status_code != 401:
            failures.append(f"{route.method} {url}: {response.status_code} {response.text[:200]!r}")
    fail_on(failures, "a body that is not JSON, no key:")


def test_only_the_listed_routes_are_open(client: TestClient, routes: list[Route]) -> None:
    paths = {r.path for r in routes}
    stale = sorted(set(OPEN_ROUTES) - paths)
    assert not stale, f"OPEN_ROUTES lists routes the app does not have: {stale}"
    # The rest is keyless_answers' job: any route not listed here must be a 401 without a key.
    for route in routes:
        if route.path in OPEN_ROUTES and route.dependant is not None and route.method == "GET":
            response = client.get(route.path)
            assert response.status_code != 401, f"{route} is listed as open but wants a key"


# --------------------------------------------------------------------------- the checks' own test


async def _forgot_the_admin_check(pool_id: int, _key: KeyDep) -> dict[str, str]:
    return {"changed": "what a read-only key may not change"}


async def _forgot_every_check() -> dict[str, str]:
    return {"changed": "what nobody without a key may change"}


def test_the_checks_catch_a_route_without_the_admin_check(
    settings: Settings, read_only_auth: Auth, filler: Filler
) -> None:
    app = create_app(settings)
    app.add_api_route("/selftest/{pool_id}", _forgot_the_admin_check, methods=["PATCH"])
    app.add_api_route("/selftest", _forgot_every_check, methods=["DELETE"])
    added = [r for r in routes_of(app) if r.path.startswith("/selftest")]
    assert [str(r) for r in added] == ["PATCH /selftest/{pool_id}", "DELETE /selftest"]

    assert {str(r) for r in added} <= set(unguarded(routes_of(app)))
    with TestClient(app) as client:
        wait_until_ready(client, "/pool", read_only_auth)
        pool_id = filler.pool_id
        refused = refused_writes(client, added, read_only_auth, filler)
        assert [f.split(":")[0] for f in refused] == [
            f"PATCH /selftest/{pool_id}",
            "DELETE /selftest",
        ]
        assert all(": 200 " in f for f in refused), refused
        # With no key or a wrong one: the KeyDep route is a 401, the other one is not.
        keyless = keyless_answers(client, added, filler)
        assert [f.split(":")[0] for f in keyless] == ["DELETE /selftest"]
        wrong = wrong_key_answers(client, added, filler, (read_only_auth[0], "wrong"))
        assert [f.split(":")[0] for f in wrong] == ["DELETE /selftest"]
