"""The served spec against the live app: it is the one committed, and its security is true.

The spec's own shape is checked without a cluster in tests/unit/test_openapi.py.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

pytestmark = pytest.mark.integration


def test_openapi_json_needs_no_key_and_is_the_apps_spec(client: TestClient) -> None:
    r = client.get("/openapi.json")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    assert r.json() == client.app.openapi()  # type: ignore[attr-defined]


def test_each_route_asks_for_a_key_exactly_when_the_spec_says(client: TestClient) -> None:
    # Every GET without path parameters, called with no credentials: a declared HTTP Basic
    # requirement must answer 401, and a route declared public must not.
    spec = client.get("/openapi.json").json()
    checked = []
    for path, item in spec["paths"].items():
        op = item.get("get")
        if op is None or "{" in path:
            continue
        status = client.get(path).status_code
        if op.get("security"):
            assert status == 401, f"GET {path} declares HTTP Basic but answered {status}"
        else:
            assert status != 401, f"GET {path} is declared public but asked for a key"
        checked.append(path)
    assert {"/", "/doc", "/pool", "/osd"} <= set(checked)
