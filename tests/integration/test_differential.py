"""Differential tests: every read endpoint, asked of the gateway and of the live `restful` module.

Both run against the same throwaway cluster at the same time; their JSON is walked key by key
(names, JSON types, values). Leaves that change from one second to the next are listed in
VOLATILE with a reason, and compared by type only. Every other difference fails the test,
unless KNOWN_DIFFERENCES lists it AND docs/compatibility.md describes it (checked below, so
the table and the document cannot drift apart).

A difference that is a gateway bug does not belong in KNOWN_DIFFERENCES: fix the gateway.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from fastapi.testclient import TestClient

from cli.dev_cluster import DevCluster
from tests.integration.compatibility import COMPATIBILITY_DOC, KNOWN_DIFFERENCES, VOLATILE
from tests.integration.differential import (
    AUTH_CASES,
    BAD_INPUT_PATHS,
    NOT_FOUND_PATHS,
    PERF_PATHS,
    READ_PATHS,
    STATUS,
    UNAUTHENTICATED,
    Difference,
    Reply,
    RestfulModule,
    Targets,
    ceph_release,
    compare_replies,
    corrupt,
    report,
    undocumented,
    unexplained,
    volatile_places,
)
from tests.support import TEST_POOL, ask_until, wait_until
from tests.support.cluster import ceph_cli_json

pytestmark = pytest.mark.integration

# --------------------------------------------------------------------------- helpers


Fetch = Callable[[], tuple[httpx.Response, httpx.Response]]


def assert_same(endpoint: str, fetch: Fetch, *, settle: float = 6.0) -> list[Difference]:
    """Fetch both answers until they agree (apart from known differences) or `settle` passes.

    The module reads the mgr's in-memory maps and counters, which trail the cluster by up to
    a few seconds; a difference that persists for `settle` seconds is a real one.
    """
    volatile = volatile_places(endpoint, VOLATILE)

    def compared() -> tuple[list[Difference], list[Difference]]:
        """Every difference, and those left unexplained."""
        gateway, module = fetch()
        differences = compare_replies(Reply.of(gateway), Reply.of(module), volatile=volatile)
        return differences, unexplained(endpoint, differences, KNOWN_DIFFERENCES, ceph_release())

    differences, _ = ask_until(
        compared,
        lambda both: not both[1],
        f"the gateway and the module agree on {endpoint}",
        limit=settle,
        interval=1.0,
        show=lambda both: report(endpoint, both[1]),
    )
    return differences


def both(
    client: TestClient, module: RestfulModule, path: str, auth: tuple[str, str] | None
) -> Fetch:
    def fetch() -> tuple[httpx.Response, httpx.Response]:
        return client.get(path, auth=auth), module.http.get(path, auth=auth)

    return fetch


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def legacy_auth(client: TestClient, restful_module: RestfulModule) -> tuple[str, str]:
    """The module's own key (`ceph restful create-key`), once the gateway has picked it up."""
    wait_until(
        lambda: client.get("/pool", auth=restful_module.auth).status_code == 200,
        "the gateway accepts the module's key",
        limit=30,
        interval=0.5,
    )
    return restful_module.auth


@pytest.fixture(scope="module")
def targets(restful_module: RestfulModule, legacy_auth: tuple[str, str]) -> Targets:
    return Targets.find(lambda p: restful_module.http.get(p, auth=legacy_auth).json(), TEST_POOL)


@pytest.fixture(scope="module")
def perf_ready(
    cluster: DevCluster, restful_module: RestfulModule, legacy_auth: tuple[str, str]
) -> set[str]:
    """The up OSDs and mons in quorum, once the module holds counters for all of them.

    Enabling the module restarts the mgr, which then knows a daemon's counters only after
    that daemon's next report (every 5 s).
    """
    quorum = ceph_cli_json(cluster, "quorum_status")["quorum_names"]
    osds = ceph_cli_json(cluster, "osd", "dump")["osds"]
    expected = {f"mon.{m}" for m in quorum} | {f"osd.{o['osd']}" for o in osds if o["up"]}
    wait_until(
        lambda: expected <= set(restful_module.http.get("/perf", auth=legacy_auth).json()),
        "the module lists every daemon's counters",
        limit=30,
        interval=1.0,
    )
    return expected


# --------------------------------------------------------------------------- the tests


def test_every_known_difference_is_documented() -> None:
    document = COMPATIBILITY_DOC.read_text()
    missing = undocumented(KNOWN_DIFFERENCES, document)
    assert not missing, "docs/compatibility.md does not quote (on one line): " + "; ".join(
        " ".join(k.doc_mentions) for k in missing
    )
    # /perf leaves out down OSDs (see test_perf_matches_module); the table says so too.
    assert "down OSD" in document
    assert all(v.reason for v in VOLATILE)


@pytest.mark.needs_module
@pytest.mark.parametrize("template", READ_PATHS)
def test_read_endpoint_matches_module(
    template: str,
    client: TestClient,
    restful_module: RestfulModule,
    legacy_auth: tuple[str, str],
    targets: Targets,
) -> None:
    path = targets.fill(template)
    auth = None if template in UNAUTHENTICATED else legacy_auth
    differences = assert_same(template, both(client, restful_module, path, auth))
    # A read matches the module exactly, but for what a release's module answers otherwise.
    per_release = [k for k in KNOWN_DIFFERENCES if k.releases]
    left = unexplained(template, differences, per_release, ceph_release())
    assert not left, report(template, left)


@pytest.mark.needs_module
@pytest.mark.parametrize("path", PERF_PATHS)
def test_perf_matches_module(
    path: str,
    cluster: DevCluster,
    client: TestClient,
    restful_module: RestfulModule,
    legacy_auth: tuple[str, str],
    perf_ready: set[str],
) -> None:
    """Names, types, descriptions, priorities and units everywhere; values of idle OSDs.

    The gateway cannot ask a down OSD for its counters, while the mgr keeps the last ones it
    got: down OSDs are left out of the module's answer (docs/compatibility.md).
    """
    down = {f"osd.{o['osd']}" for o in ceph_cli_json(cluster, "osd", "dump")["osds"] if not o["up"]}

    def fetch() -> tuple[httpx.Response, httpx.Response]:
        gateway, module = both(client, restful_module, path, legacy_auth)()
        counters = {k: v for k, v in module.json().items() if k not in down}
        return gateway, httpx.Response(module.status_code, json=counters)

    # The mgr's copy of OSD counters is refreshed every 5 s: allow two reports to settle.
    assert_same(path, fetch, settle=12.0)


@pytest.mark.needs_module
@pytest.mark.parametrize("path", NOT_FOUND_PATHS)
def test_not_found_is_404_with_the_module_message(
    path: str, client: TestClient, restful_module: RestfulModule, legacy_auth: tuple[str, str]
) -> None:
    differences = assert_same(path, both(client, restful_module, path, legacy_auth))
    assert [(d.place, d.gateway, d.module) for d in differences] == [(STATUS, 404, 500)]
    gateway_body = client.get(path, auth=legacy_auth).json()
    assert gateway_body == restful_module.get(path).json()
    assert set(gateway_body) == {"message"}


@pytest.mark.needs_module
def test_unknown_config_option_is_404(
    client: TestClient, restful_module: RestfulModule, legacy_auth: tuple[str, str]
) -> None:
    path = "/config/cluster/no_such_option"
    assert_same(path, both(client, restful_module, path, legacy_auth))
    assert restful_module.get(path).json() is None
    assert "no_such_option" in client.get(path, auth=legacy_auth).json()["message"]


@pytest.mark.needs_module
@pytest.mark.parametrize("path", BAD_INPUT_PATHS)
def test_bad_input_is_a_json_error(
    path: str, client: TestClient, restful_module: RestfulModule, legacy_auth: tuple[str, str]
) -> None:
    assert_same(path, both(client, restful_module, path, legacy_auth))
    body = client.get(path, auth=legacy_auth).json()
    assert isinstance(body["message"], str)
    assert body["message"]


@pytest.mark.needs_module
@pytest.mark.parametrize("case", AUTH_CASES)
def test_failed_authentication_is_401_like_the_module(
    case: str, client: TestClient, restful_module: RestfulModule, legacy_auth: tuple[str, str]
) -> None:
    auth = corrupt(legacy_auth, case)
    endpoint = f"/pool ({case})"
    differences = assert_same(endpoint, both(client, restful_module, "/pool", auth))
    assert [d.place for d in differences] == ["$/message"]
    for response in both(client, restful_module, "/pool", auth)():
        assert response.status_code == 401
        assert response.headers["www-authenticate"].startswith("Basic realm=")


@pytest.mark.needs_module
def test_the_module_key_works_on_both(
    client: TestClient, restful_module: RestfulModule, legacy_auth: tuple[str, str]
) -> None:
    """A key made by `ceph restful create-key` is accepted, unchanged, by the gateway."""
    gateway, module = both(client, restful_module, "/osd/0/command", legacy_auth)()
    assert (gateway.status_code, module.status_code) == (200, 200)
    assert gateway.json() == module.json()
