"""The gateway against the restful module's answers recorded on Reef, on every release.

Tentacle ships no module to compare with live; the project recorded the Reef module's answers
(`make record-module-answers`, tests/integration/recorded/reef/) on a cluster made as the
tests make theirs. Each endpoint's answer must have the recorded status, media type and JSON
shape (key names, nesting, JSON types; values differ from one cluster to another), apart from
the entries of KNOWN_DIFFERENCES for this release, which docs/compatibility.md describes.
Run on every release, it also holds Pacific and Reef to the one contract.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.integration.compatibility import KNOWN_DIFFERENCES
from tests.integration.differential import (
    AUTH_CASES,
    BAD_INPUT_PATHS,
    NOT_FOUND_PATHS,
    PERF_PATHS,
    READ_PATHS,
    RECORDED_RELEASE,
    UNAUTHENTICATED,
    Reply,
    Targets,
    ceph_release,
    compare_replies,
    corrupt,
    load_recorded,
    recorded_file,
    report,
    unexplained,
)
from tests.support import TEST_POOL

pytestmark = pytest.mark.integration

Auth = tuple[str, str]

AUTH_ENDPOINTS = {f"/pool ({case})": case for case in AUTH_CASES}
TEMPLATES = (*READ_PATHS, *PERF_PATHS, *NOT_FOUND_PATHS, *BAD_INPUT_PATHS, *AUTH_ENDPOINTS)


@pytest.fixture(scope="module")
def targets(client: TestClient, admin_auth: Auth) -> Targets:
    return Targets.find(lambda p: client.get(p, auth=admin_auth).json(), TEST_POOL)


def test_every_endpoint_was_recorded() -> None:
    missing = [t for t in TEMPLATES if not recorded_file(t).exists()]
    assert not missing, f"not recorded (make record-module-answers): {missing}"


@pytest.mark.parametrize("template", TEMPLATES)
def test_the_gateway_answers_in_the_recorded_shape(
    template: str, client: TestClient, admin_auth: Auth, targets: Targets
) -> None:
    if template in AUTH_ENDPOINTS:
        response = client.get("/pool", auth=corrupt(admin_auth, AUTH_ENDPOINTS[template]))
    else:
        auth = None if template in UNAUTHENTICATED else admin_auth
        response = client.get(targets.fill(template), auth=auth)
    recorded = load_recorded(template)
    differences = compare_replies(Reply.of(response), recorded, shapes_only=True)
    left = unexplained(template, differences, KNOWN_DIFFERENCES, ceph_release())
    assert not left, report(f"{template} (against {RECORDED_RELEASE}'s recording)", left)
