"""GET /doc against the app: the module's endpoint map, with no key needed."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

pytestmark = pytest.mark.integration

SAMPLES = Path(__file__).parents[2] / "unit" / "ceph" / "samples"


def test_doc_is_the_module_map_without_a_key(client: TestClient) -> None:
    response = client.get("/doc")
    assert response.status_code == 200
    assert response.json() == json.loads((SAMPLES / "GET_doc.json").read_text())


def test_doc_ignores_credentials_like_the_module(client: TestClient) -> None:
    assert client.get("/doc", auth=("nobody", "wrong")).status_code == 200


def test_every_mounted_module_route_has_the_doc_line_of_the_map(client: TestClient) -> None:
    # Each route's docstring is the first line of the module's: keep the two in step.
    endpoint_map = client.get("/doc").json()
    openapi_paths = client.get("/openapi.json").json()["paths"]
    checked = set()
    for path, operations in openapi_paths.items():
        module_path = re.sub(r"\{[^}]+\}", "<arg>", path)
        for method, operation in operations.items():
            lines = endpoint_map.get(module_path, {}).get(method.upper())
            if lines is None:
                continue
            first_line = operation.get("description", "").split("\n")[0].rstrip(".")
            assert first_line == lines[0], (method, path)
            checked.add((module_path, method.upper()))
    mine = {"/", "/doc", "/mon", "/mon/<arg>", "/server", "/server/<arg>", "/perf"}
    assert {(path, "GET") for path in mine} <= checked
