"""The OpenAPI spec: valid, typed, stable, and committed as docs/openapi.json.

`create_app()` needs no cluster to describe itself, so these run without one. That the spec
tells the truth about each route's key is checked against the live app in
tests/integration/test_openapi.py; that clients generated from it work, in test_sdk.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from openapi_spec_validator import validate

from app.main import create_app
from cli.main import main

COMMITTED = Path(__file__).parents[2] / "docs" / "openapi.json"
METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
ERROR_MODEL = {"$ref": "#/components/schemas/ErrorResponse"}
# Every operation declares these, with the one error model (ERROR_RESPONSES in create_app).
REQUIRED_ERRORS = {"400", "401", "403", "404", "422", "503", "504"}
# The one error answer that is not an ErrorResponse: a readiness probe's 503 is its report.
OTHER_ERROR_BODIES = {("get_readiness", "503"): {"$ref": "#/components/schemas/HealthReport"}}
# Routes anyone may call, as in the module: no security requirement in the spec.
PUBLIC = {("get", "/"), ("get", "/doc")}
BASIC: list[dict[str, list[str]]] = [{"BasicAuth": []}]


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return create_app().openapi()


def operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield method, path, operation


def test_spec_is_valid_openapi_3_1(spec: dict[str, Any]) -> None:
    assert spec["openapi"].startswith("3.1.")
    validate(spec)


def test_every_operation_has_an_id_a_tag_and_a_description(spec: dict[str, Any]) -> None:
    ids: list[str] = []
    for method, path, op in operations(spec):
        where = f"{method.upper()} {path}"
        assert op.get("operationId"), f"{where} has no operationId (set operation_id=...)"
        ids.append(op["operationId"])
        assert op.get("tags"), f"{where} has no tag"
        assert op.get("summary"), f"{where} has no summary"
        assert op.get("description"), f"{where} has no description (the route's docstring)"
    # Generators name functions after operationIds: a clash loses an operation.
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)


def test_every_operation_declares_the_errors_with_the_one_model(spec: dict[str, Any]) -> None:
    for method, path, op in operations(spec):
        where = f"{method.upper()} {path}"
        responses = op["responses"]
        missing = REQUIRED_ERRORS - set(responses)
        assert not missing, f"{where} does not declare {sorted(missing)}"
        for status, response in responses.items():
            if status.startswith(("4", "5")):
                content = response.get("content", {})
                assert set(content) == {"application/json"}, (where, status, content)
                model = OTHER_ERROR_BODIES.get((op["operationId"], status), ERROR_MODEL)
                assert content["application/json"]["schema"] == model, (where, status)
                assert response.get("description"), (where, status)
    schema = spec["components"]["schemas"]["ErrorResponse"]
    assert schema["required"] == ["message"]


def test_writes_that_can_clash_declare_409(spec: dict[str, Any]) -> None:
    # Creating what exists already is a 409 (Ceph's EEXIST); reads never are.
    for method, path, op in operations(spec):
        if op["operationId"] in {"create_pool"}:
            assert "409" in op["responses"], f"{method.upper()} {path} should declare 409"
        if method == "get":
            assert "409" not in op["responses"], f"GET {path} declares a 409"


def test_success_responses_are_typed(spec: dict[str, Any]) -> None:
    # A 2xx without a schema makes an SDK method that returns nothing usable.
    for method, path, op in operations(spec):
        for status, response in op["responses"].items():
            if status.startswith("2"):
                content = response.get("content")
                assert content, f"{method.upper()} {path} {status} has no content"
                for media_type, body in content.items():
                    schema = body.get("schema")
                    assert schema, f"{method.upper()} {path} {status} {media_type} is untyped"


def test_http_basic_is_declared_on_every_route_but_the_public_ones(
    spec: dict[str, Any],
) -> None:
    schemes = spec["components"]["securitySchemes"]
    assert schemes == {
        "BasicAuth": {
            "type": "http",
            "scheme": "basic",
            "description": schemes["BasicAuth"]["description"],
        }
    }
    assert "security" not in spec  # per operation, so the public ones can have none
    public = set()
    for method, path, op in operations(spec):
        if op.get("security"):
            assert op["security"] == BASIC, f"{method.upper()} {path}: {op['security']}"
        else:
            public.add((method, path))
    assert public >= PUBLIC
    # Any other public route is a read that exists to be probed without a key (health).
    for method, path in public - PUBLIC:
        assert method == "get", f"{method.upper()} {path} needs no key"


def test_the_doc_pages_and_the_spec_are_public_and_only_doc_is_in_the_spec(
    spec: dict[str, Any],
) -> None:
    paths = spec["paths"]
    assert "/openapi.json" not in paths
    assert "/redoc" not in paths
    doc = paths["/doc"]["get"]["responses"]["200"]["content"]
    assert set(doc) == {"application/json", "text/html"}


def test_committed_copy_is_current(spec: dict[str, Any]) -> None:
    committed = json.loads(COMMITTED.read_text()) if COMMITTED.exists() else None
    assert committed == spec, (
        "docs/openapi.json is not the spec the app serves: run `make openapi` and commit it"
    )


def test_cephgw_openapi_prints_the_spec(
    spec: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    # What `make openapi` writes to docs/openapi.json.
    assert main(["openapi"]) == 0
    assert json.loads(capsys.readouterr().out) == spec
