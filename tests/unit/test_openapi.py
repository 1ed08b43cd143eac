"""The OpenAPI spec: valid, typed, described, stable, and committed as docs/openapi.json.

`create_app()` needs no cluster to describe itself, so these run without one. That the spec
tells the truth about each route's key is checked against the live app in
tests/integration/test_openapi.py; that clients generated from it work, in test_sdk.py.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from openapi_schema_validator import OAS31Validator
from openapi_spec_validator import validate

from app.main import create_app
from cli.main import main

COMMITTED = Path(__file__).parents[2] / "docs" / "openapi.json"
METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
REF = "#/components/schemas/"
ERROR_MODEL = {"$ref": REF + "ErrorResponse"}
# Every keyed route of a resource declares these, with the one error model (KEYED_ERRORS,
# applied per router).
REQUIRED_ERRORS = {"400", "401", "403", "404", "422", "429", "502", "503", "504"}
# Keyed, but any key will do (no 403) and it has no parameters: 401 (429 once a client failed
# too often), or 503 until the keys are read.
METRICS_ERRORS = {"401", "429", "503"}
# The one error answer that is not an ErrorResponse: a readiness probe's 503 is its report.
OTHER_ERROR_BODIES = {("get_readiness", "503"): {"$ref": REF + "HealthReport"}}
# Routes anyone may call: no security requirement in the spec, and no 401/403 either.
PUBLIC = {("get", "/"), ("get", "/doc"), ("get", "/healthz"), ("get", "/readyz")}
BASIC: list[dict[str, list[str]]] = [{"BasicAuth": []}]
# An operationId is a generated SDK's function name: snake_case, a verb first.
OPERATION_ID = re.compile(r"^(get|list|create|update|delete|run)(_[a-z]+)+$")
# Operations that start a job, and so take ?wait=.
JOB_OPERATIONS = {
    "update_osd_flags",
    "update_osd",
    "run_osd_command",
    "create_pool",
    "update_pool",
    "delete_pool",
    "create_request",
}


@pytest.fixture(scope="module")
def app() -> FastAPI:
    return create_app()


@pytest.fixture(scope="module")
def spec(app: FastAPI) -> dict[str, Any]:
    return app.openapi()


def operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield method, path, operation


def schema_routes(app: FastAPI) -> Iterator[APIRoute]:
    for route in app.routes:
        if isinstance(route, APIRoute) and route.include_in_schema:
            yield route


def component_name(schema: dict[str, Any]) -> str:
    """The component a body's schema names, directly or as a list's items."""
    ref = schema.get("$ref") or schema.get("items", {}).get("$ref")
    assert ref, f"not a named schema: {schema}"
    assert str(ref).startswith(REF), ref
    return str(ref).removeprefix(REF)


def test_spec_is_valid_openapi_3_1(spec: dict[str, Any]) -> None:
    assert spec["openapi"].startswith("3.1.")
    validate(spec)


def test_every_operation_has_an_id_a_tag_and_a_description(spec: dict[str, Any]) -> None:
    ids: list[str] = []
    declared_tags = {tag["name"] for tag in spec["tags"]}
    for method, path, op in operations(spec):
        where = f"{method.upper()} {path}"
        assert op.get("operationId"), f"{where} has no operationId (set operation_id=...)"
        assert OPERATION_ID.match(op["operationId"]), f"{where}: {op['operationId']}"
        ids.append(op["operationId"])
        assert len(op.get("tags", [])) == 1, f"{where} needs one tag: its resource's"
        assert op["tags"][0] in declared_tags, f"{where}: {op['tags']} is not in openapi_tags"
        assert op.get("summary"), f"{where} has no summary"
        # The docstring's line, then what backs the route and how it behaves.
        assert "\n\n" in op.get("description", ""), f"{where} needs a longer description"
    # Generators name functions after operationIds: a clash loses an operation.
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)


def test_every_tag_is_described(spec: dict[str, Any]) -> None:
    used = {op["tags"][0] for _, _, op in operations(spec)}
    tags = {tag["name"]: tag.get("description") for tag in spec["tags"]}
    assert used == set(tags)
    assert all(tags.values()), tags
    assert spec["info"].get("description")


def test_every_summary_is_written_not_generated(app: FastAPI) -> None:
    # Without summary=, FastAPI makes one of the function's name: "List Osd Flags".
    for route in schema_routes(app):
        generated = route.name.replace("_", " ").title()
        assert route.summary, f"{route.path} {route.methods}: set summary=..."
        assert route.summary != generated, f"{route.path}: {route.summary!r} is the default"
        assert not route.summary.endswith("."), route.summary


def test_each_docstring_is_the_first_line_of_the_description(app: FastAPI) -> None:
    # The docstring is one line (for the module's routes, the line of its /doc map: see
    # tests/integration/routers/test_doc.py), and `description=` starts with it.
    for route in schema_routes(app):
        doc = (route.endpoint.__doc__ or "").strip()
        assert doc, f"{route.path}: no docstring"
        assert "\n" not in doc, f"{route.path}: the docstring is one line; say more in description="
        assert route.description.split("\n")[0] == doc, route.path


def test_every_parameter_is_described_with_an_example(spec: dict[str, Any]) -> None:
    for method, path, op in operations(spec):
        for parameter in op.get("parameters", []):
            where = f"{method.upper()} {path} ?{parameter['name']}"
            assert parameter.get("description"), f"{where} has no description"
            if parameter["name"] != "page" or op["operationId"] != "get_perf_counters":
                assert parameter["schema"].get("examples"), f"{where} has no example"


def test_every_schema_and_property_is_described(spec: dict[str, Any]) -> None:
    for name, schema in spec["components"]["schemas"].items():
        assert schema.get("description"), f"{name} has no description (its docstring)"
        for prop, body in schema.get("properties", {}).items():
            assert body.get("description"), f"{name}.{prop} has no Field(description=...)"


def test_every_body_is_a_named_schema_or_has_examples(spec: dict[str, Any]) -> None:
    # JSON bodies (responses, success or error, and request bodies) name a component, whose
    # examples the next test checks; the others (HTML, Prometheus text) carry their own.
    named: set[str] = set()
    for method, path, op in operations(spec):
        bodies = [r.get("content", {}) for r in op["responses"].values()]
        bodies.append(op.get("requestBody", {}).get("content", {}))
        for content in bodies:
            for media_type, body in content.items():
                if media_type == "application/json":
                    named.add(component_name(body["schema"]))
                else:
                    assert body["schema"].get("examples"), (method, path, media_type)
    assert {"Pool", "Osd", "Job", "ErrorResponse", "PoolCreate", "RequestBody"} <= named


def test_every_schema_has_examples_that_fit_it(spec: dict[str, Any]) -> None:
    # Each example validates against the model's own schema, so none can drift from it.
    for name, schema in spec["components"]["schemas"].items():
        assert schema.get("examples"), f"{name} has no example"
        validator = OAS31Validator({"$ref": REF + name, "components": spec["components"]})
        for example in schema["examples"]:
            errors = [error.message for error in validator.iter_errors(example)]
            assert not errors, f"an example of {name} does not fit it: {errors}"


def test_every_operation_declares_the_errors_with_the_one_model(spec: dict[str, Any]) -> None:
    for method, path, op in operations(spec):
        where = f"{method.upper()} {path}"
        responses = op["responses"]
        if (method, path) in PUBLIC:
            required: set[str] = set()
        elif op["operationId"] == "get_metrics":
            required = METRICS_ERRORS
        else:
            required = REQUIRED_ERRORS
        missing = required - set(responses)
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
    # FastAPI's own 422 body is never sent: the app answers ErrorResponse.
    assert "HTTPValidationError" not in spec["components"]["schemas"]


def test_public_routes_declare_no_auth_errors(spec: dict[str, Any]) -> None:
    for method, path, op in operations(spec):
        if (method, path) in PUBLIC:
            auth_errors = {"401", "403", "429"} & set(op["responses"])
            assert not auth_errors, f"{method.upper()} {path} is public but declares {auth_errors}"
        else:
            assert "401" in op["responses"], f"{method.upper()} {path} takes a key"


def test_writes_that_can_clash_declare_409(spec: dict[str, Any]) -> None:
    # Creating a pool that exists with other arguments, or running a command on a down OSD,
    # is a 409; reads never are.
    clashing = {op["operationId"] for _, _, op in operations(spec) if "409" in op["responses"]}
    assert clashing == {"create_pool", "run_osd_command"}


def test_exactly_the_operations_that_take_a_body_declare_413(spec: dict[str, Any]) -> None:
    # The body limit (app/body_limit.py) applies to every request, but only a body can pass it.
    for method, path, op in operations(spec):
        takes_body = "requestBody" in op
        assert ("413" in op["responses"]) == takes_body, f"{method.upper()} {path}"


def test_wait_is_a_boolean_or_one_of_the_modules_strings(spec: dict[str, Any]) -> None:
    # Generated clients send true/false; the module's clients 1, yes... (the server reads any
    # value but empty, 0, false and no as "wait").
    waits = {
        op["operationId"]: parameter
        for _, _, op in operations(spec)
        for parameter in op.get("parameters", [])
        if parameter["name"] == "wait"
    }
    assert set(waits) == JOB_OPERATIONS
    for parameter in waits.values():
        assert parameter["in"] == "query"
        assert not parameter["required"]
        assert parameter["schema"]["anyOf"] == [{"type": "boolean"}, {"type": "string"}]


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
    assert public == PUBLIC


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
