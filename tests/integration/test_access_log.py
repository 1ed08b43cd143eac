"""The access log of the real app: one JSON line per request, with the key, never a secret."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.access_log import LOGGER_NAME
from tests.support import json_log_lines

pytestmark = pytest.mark.integration


def _lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    return json_log_lines(caplog, LOGGER_NAME)


def _access_text(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(r.getMessage() for r in caplog.records if r.name == LOGGER_NAME)


def test_an_authenticated_request_logs_one_line(
    client: TestClient, admin_auth: tuple[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER_NAME)
    r = client.get("/osd/0?pool=", auth=admin_auth)
    assert r.status_code == 200
    [line] = _lines(caplog)
    assert set(line) == {
        "time",
        "client",
        "key",
        "method",
        "route",
        "path",
        "status",
        "duration_ms",
    }
    assert line["key"] == admin_auth[0]
    assert line["client"] == "testclient"  # TestClient's peer address
    assert (line["method"], line["route"], line["path"]) == ("GET", "/osd/{osd_id}", "/osd/0")
    assert line["status"] == 200
    assert line["duration_ms"] > 0
    # Never the key, the Authorization header (in no log at all), or the query string.
    assert admin_auth[1] not in caplog.text
    assert "Basic" not in caplog.text
    assert "authorization" not in caplog.text.lower()
    assert "pool=" not in _access_text(caplog)


def test_a_refused_request_is_logged_without_its_key_name_or_secret(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER_NAME)
    assert client.get("/osd", auth=("intruder", "guess-123")).status_code == 401
    [line] = _lines(caplog)
    assert (line["route"], line["status"], line["key"]) == ("/osd", 401, None)
    assert "guess-123" not in caplog.text
