"""Property-based tests of the live OpenAPI spec (schemathesis): every operation, with an admin
key, on generated valid and invalid requests. No 500, every answer as the spec declares it
(status, content type, body, headers, a 405's Allow), and 502/503/504 only when the cluster is
at fault: while Ceph's own CLI gets no answer from the mons.

On a throwaway cluster of this module's own: the operations include writes that would upset
the shared cluster of the rest of the suite (DELETE /pool, PATCH /osd down or out, PATCH
/config/osd pause, POST /request with whatever mon command is generated). Every pool of it is
made `nodelete` first, so that a generated DELETE /pool ends as a failed job (Ceph refuses),
not with the pools the other operations read.

Bounded: EXAMPLES_PER_OPERATION cases an operation in the fuzzing phase (plus the spec's
examples and schemathesis' coverage cases), each within CASE_DEADLINE, and the whole module
(its cluster too) within RUN_LIMIT: about 1,300 cases, under 2 minutes on 2 cores.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis import Case, CheckContext, Response
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure
from schemathesis.specs.openapi.checks import (
    allow_header_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from app.auth import Role
from app.main import create_app
from app.settings import Settings
from cli import dev_cluster
from cli.dev_cluster import DevCluster
from tests.support import TEST_POOL
from tests.support.cluster import ceph_cli, ceph_cli_json, create_key
from tests.support.jobs import Auth
from tests.support.server import wait_until_ready

pytestmark = pytest.mark.integration

EXAMPLES_PER_OPERATION = 25
CASE_DEADLINE = timedelta(seconds=20)
# Seconds the whole run may take, its cluster too: past it each case left fails at once.
RUN_LIMIT = 300
# The statuses that say the cluster failed (app/models/error.py): checked by
# `only_the_cluster_fails`, not by `not_a_server_error`, which keeps every other 5xx.
CLUSTER_FAULT_STATUSES = (502, 503, 504)
# Seconds Ceph's own CLI has to get an answer from the mons, when judging a 502/503/504.
HEALTH_PROBE_TIMEOUT = 10

# The spec is the app's own (it needs no cluster: the app is built, not started); the one it
# serves is the same (tests/integration/test_openapi.py).
schema = schemathesis.openapi.from_dict(
    create_app().openapi(),
    config=schemathesis.Config.from_dict(
        {
            "checks": {
                "not_a_server_error": {
                    "expected-statuses": ["2xx", "3xx", "4xx", *CLUSTER_FAULT_STATUSES]
                }
            }
        }
    ),
)


@pytest.fixture(scope="module")
def run_deadline() -> float:
    """When the run is over its time (the test asks for it first: it starts the clock)."""
    return time.monotonic() + RUN_LIMIT


@pytest.fixture(scope="module")
def fuzz_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevCluster]:
    directory = tmp_path_factory.mktemp("fuzz")
    try:
        cluster = dev_cluster.up(directory, osds=3, pools=(TEST_POOL,))
        for pool in ceph_cli_json(cluster, "osd", "pool", "ls"):
            ceph_cli(cluster, "osd", "pool", "set", pool, "nodelete", "true")
        yield cluster
    finally:
        dev_cluster.down(directory)


@pytest.fixture(scope="module")
def fuzz_settings(fuzz_cluster: DevCluster) -> Settings:
    return Settings(
        conf=fuzz_cluster.conf,
        keyring=fuzz_cluster.keyring,
        name="client.admin",
        mgr_name=fuzz_cluster.mgr_name,
        ceph_timeout=15.0,
        # Every in-process client is the one address "testclient".
        auth_failures_per_client=0,
        auth_failures_per_key=0,
        auth_verifications_per_second=1000.0,
        # ?wait=1 is generated too: a job that cannot end soon is answered 202 in time.
        job_wait_timeout=5.0,
    )


@pytest.fixture(scope="module")
def fuzz_auth(fuzz_settings: Settings) -> Auth:
    return "fuzz-admin", create_key(fuzz_settings, "fuzz-admin", Role.ADMIN)


@pytest.fixture(scope="module")
def fuzz_client(fuzz_settings: Settings, fuzz_auth: Auth) -> Iterator[TestClient]:
    """The gateway app, in process, with its lifespan running against the fuzz cluster."""
    with TestClient(create_app(fuzz_settings)) as test_client:
        # Every map read once first, as a gateway in service has them: a slow moment of the
        # cluster (the suite's other cluster shares the cores) is then answered from them,
        # marked stale, as designed. A gateway that knows nothing yet answers it with a quick
        # 503 (tests/integration/ceph/test_client.py); Ceph's CLI, asked after the fact,
        # cannot tell such a second from a healthy cluster's.
        for path in keyed_list_paths(schema.raw_schema):
            wait_until_ready(test_client, path, fuzz_auth)
        yield test_client


def keyed_list_paths(spec: dict[str, Any]) -> list[str]:
    """The GET paths of the spec that take a key and no path parameter: one per map."""
    return [
        path
        for path, item in spec["paths"].items()
        if "get" in item and item["get"].get("security") and "{" not in path
    ]


def send(client: TestClient, case: Case[Any], auth: Auth) -> httpx.Response:
    """The case as an HTTP request to the in-process app, with the admin key.

    The key is set here, last: schemathesis' own Authorization (left out or made up, to probe
    the security scheme) would not be the admin key, and the keys' refusals have tests of
    their own (test_roles.py, test_auth.py).
    """
    kwargs = case.as_transport_kwargs(base_url=str(client.base_url))
    headers = {k: v for k, v in kwargs.pop("headers").items() if k.lower() != "authorization"}
    body = kwargs.pop("data", None)
    response: httpx.Response = client.request(
        kwargs.pop("method"),
        kwargs.pop("url"),
        params=kwargs.pop("params", None),
        headers=headers,
        cookies=kwargs.pop("cookies", None) or None,
        json=kwargs.pop("json", None),
        content=body if isinstance(body, bytes | str) else None,
        data=body if isinstance(body, dict) else None,
        files=kwargs.pop("files", None),
        auth=auth,
    )
    return response


def cluster_unreachable(cluster: DevCluster) -> bool:
    """Whether Ceph's own CLI, the independent witness, gets no answer from the mons."""
    try:
        ceph_cli(cluster, "health", timeout=HEALTH_PROBE_TIMEOUT)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
        return True
    return False


def only_the_cluster_fails(cluster: DevCluster) -> schemathesis.CheckFunction:
    def check(ctx: CheckContext, response: Response, case: Case[Any]) -> bool | None:
        if response.status_code in CLUSTER_FAULT_STATUSES and not cluster_unreachable(cluster):
            raise Failure(
                operation=case.operation.label,
                title=f"{response.status_code} while the cluster answers",
                message=f"{response.status_code} {response.text[:2000]}",
            )
        return None

    return check


# What every answer is checked for: no 500 (nor any 5xx but the cluster's three), its status,
# content type, body and headers as the spec declares them, a 405's Allow, and 502/503/504
# only while the cluster fails. Of schemathesis' other checks, ignored_auth needs a key left
# out or made up (every case here carries the admin key); positive_data_acceptance takes any
# 400 to a schema-valid body as wrong, and some of the gateway's are what JSON Schema cannot
# say (a CRUSH rule name no rule has, `up: true`: the module's 400s); negative_data_rejection
# takes an unknown query parameter as invalid, which the gateway ignores, as the module did.
def answer_checks(cluster: DevCluster) -> list[schemathesis.CheckFunction]:
    return [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_schema_conformance,
        response_headers_conformance,
        allow_header_conformance,
        only_the_cluster_fails(cluster),
    ]


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=CASE_DEADLINE,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_every_operation_answers_as_the_spec_says(
    case: Case[Any],
    run_deadline: float,
    fuzz_client: TestClient,
    fuzz_auth: Auth,
    fuzz_cluster: DevCluster,
) -> None:
    if time.monotonic() > run_deadline:
        pytest.fail(f"the schemathesis run is over its {RUN_LIMIT} s", pytrace=False)
    response = send(fuzz_client, case, fuzz_auth)
    case.validate_response(response, checks=answer_checks(fuzz_cluster))
