"""The access log's line format, and its middleware on a tiny app (no cluster)."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from app.access_log import (
    LOGGER_NAME,
    UNMATCHED_ROUTE,
    AccessLogMiddleware,
    RequestRecord,
    format_access_line,
    record_of,
    route_template,
)
from tests.support import json_log_lines

FIELDS = {"time", "client", "key", "method", "route", "path", "status", "duration_ms"}


def _record(**changes: Any) -> RequestRecord:
    values: dict[str, Any] = {
        "started": 1_700_000_000.1234,
        "client": "192.0.2.7",
        "key": "ops",
        "method": "GET",
        "route": "/osd/{osd_id}",
        "path": "/osd/3",
        "status": 200,
        "duration": 0.0123456,
    }
    values.update(changes)
    return RequestRecord(**values)


def test_a_line_is_json_with_exactly_the_fields() -> None:
    line = format_access_line(_record())
    assert json.loads(line) == {
        "time": "2023-11-14T22:13:20.123Z",
        "client": "192.0.2.7",
        "key": "ops",
        "method": "GET",
        "route": "/osd/{osd_id}",
        "path": "/osd/3",
        "status": 200,
        "duration_ms": 12.346,
    }


def test_a_request_without_key_or_client_has_nulls() -> None:
    data = json.loads(format_access_line(_record(key=None, client=None)))
    assert data["key"] is None
    assert data["client"] is None
    assert set(data) == FIELDS


def test_a_path_with_a_newline_stays_one_line() -> None:
    line = format_access_line(_record(path='/x\n{"status":200}\r\u2028'))
    assert "\n" not in line
    assert "\r" not in line
    assert json.loads(line)["path"] == '/x\n{"status":200}\r\u2028'


def test_route_template_of_an_unrouted_scope() -> None:
    assert route_template({"type": "http", "path": "/nope"}) == UNMATCHED_ROUTE


def test_record_takes_the_key_from_the_request_state_only() -> None:
    scope: dict[str, Any] = {
        "type": "http",
        "method": "POST",
        "path": "/pool",
        "query_string": b"wait=1&secret=hunter2",
        "client": ("198.51.100.1", 51234),
        "headers": [(b"authorization", b"Basic b3BzOmh1bnRlcjI=")],
        "state": {"key_name": "ops", "keys": object()},
    }
    record = record_of(scope, 202, 1_700_000_000.0, 0.5)
    assert record == RequestRecord(
        started=1_700_000_000.0,
        client="198.51.100.1",
        key="ops",
        method="POST",
        route=UNMATCHED_ROUTE,
        path="/pool",
        status=202,
        duration=0.5,
    )
    line = format_access_line(record)
    assert "hunter2" not in line
    assert "b3BzOmh1bnRlcjI" not in line


# -- the middleware on a small app ------------------------------------------------------------


def _app(seen: list[RequestRecord]) -> FastAPI:
    app = FastAPI()

    @app.get("/items/{item_id}")
    async def get_item(item_id: int, request: Request) -> dict[str, int]:
        request.state.key_name = "reader"
        return {"id": item_id}

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("kaboom")

    app.add_middleware(AccessLogMiddleware, observers=[seen.append])
    return app


def _lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    return json_log_lines(caplog, LOGGER_NAME)


def test_middleware_logs_one_line_with_the_route_template(
    caplog: pytest.LogCaptureFixture,
) -> None:
    seen: list[RequestRecord] = []
    caplog.set_level(logging.INFO, logger=LOGGER_NAME)
    with TestClient(_app(seen)) as client:
        assert client.get("/items/7?token=abc", auth=("reader", "s3cret")).status_code == 200
    [line] = _lines(caplog)
    assert line["route"] == "/items/{item_id}"
    assert line["path"] == "/items/7"
    assert line["key"] == "reader"
    assert line["status"] == 200
    assert line["duration_ms"] >= 0
    assert "s3cret" not in caplog.text
    assert "token" not in caplog.text
    assert [r.route for r in seen] == ["/items/{item_id}"]


def test_middleware_lets_an_exception_through_and_logs_a_500(
    caplog: pytest.LogCaptureFixture,
) -> None:
    seen: list[RequestRecord] = []
    caplog.set_level(logging.INFO, logger=LOGGER_NAME)
    with TestClient(_app(seen)) as client, pytest.raises(RuntimeError, match="kaboom"):
        client.get("/boom")
    [line] = _lines(caplog)
    assert (line["route"], line["status"]) == ("/boom", 500)
    assert [r.status for r in seen] == [500]


def test_middleware_logs_an_unmatched_path_under_one_label(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER_NAME)
    with TestClient(_app([])) as client:
        assert client.get("/random/path/123").status_code == 404
    [line] = _lines(caplog)
    assert (line["route"], line["status"]) == (UNMATCHED_ROUTE, 404)
