"""The app's error answers that need no cluster: a 405's `Allow`."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from app.main import create_app


@pytest.fixture(scope="module")
def unconnected_client() -> TestClient:
    # Not entered: no lifespan, no cluster; a refused method never gets as far as needing one.
    return TestClient(create_app())


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        # Two routes on one path (GET and PATCH): Starlette named only the first one's.
        ("OPTIONS", "/config/osd", "GET, PATCH"),
        ("PUT", "/osd/0", "GET, PATCH"),
        ("PUT", "/osd/0/command", "GET, POST"),
        ("PUT", "/pool/1", "DELETE, GET, PATCH"),
        ("PUT", "/request", "DELETE, GET, POST"),
        ("POST", "/mon", "GET"),
    ],
)
def test_a_405_allows_every_method_of_the_path(
    unconnected_client: TestClient, method: str, path: str, allow: str
) -> None:
    r = unconnected_client.request(method, path)
    assert r.status_code == 405
    assert r.headers["allow"] == allow
    assert r.json() == {"message": "Method Not Allowed"}
