"""GET /doc against the app: the module's endpoint map, with no key needed."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from tests.support import load_sample

pytestmark = pytest.mark.integration


def test_doc_is_the_module_map_without_a_key(client: TestClient) -> None:
    response = client.get("/doc")
    assert response.status_code == 200
    assert response.json() == load_sample("GET_doc.json")


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


# ---- Swagger UI for a browser, ReDoc, and their files: served by cephgw, with no key.

BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


@pytest.mark.parametrize(
    "accept",
    [None, "*/*", "application/json", "text/html, application/json", "text/html;q=0.9, */*"],
)
def test_doc_is_json_for_any_client_not_preferring_html(
    client: TestClient, accept: str | None
) -> None:
    headers = {"Accept": accept} if accept else {}
    r = client.get("/doc", headers=headers)
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    assert r.headers["vary"] == "Accept"
    assert r.json() == load_sample("GET_doc.json")


def _local_urls(html: str) -> list[str]:
    urls = re.findall(r'(?:src|href)="([^"]+)"', html) + re.findall(r"url: '([^']+)'", html)
    # Everything the page loads comes from the gateway itself: no CDN, no fonts from afar.
    assert urls
    assert not [u for u in urls if "//" in u], urls
    assert "googleapis" not in html
    return urls


def test_doc_is_swagger_ui_for_a_browser(client: TestClient) -> None:
    r = client.get("/doc", headers={"Accept": BROWSER_ACCEPT})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert r.headers["vary"] == "Accept"
    assert "SwaggerUIBundle" in r.text
    urls = _local_urls(r.text)
    assert "/openapi.json" in urls
    for url in urls:
        got = client.get(url)
        assert got.status_code == 200, url
        assert len(got.content) > 1000, url


def test_redoc_serves_redoc_from_the_gateway(client: TestClient) -> None:
    r = client.get("/redoc")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert '<redoc spec-url="/openapi.json">' in r.text
    urls = _local_urls(r.text)
    js = client.get(next(u for u in urls if u.endswith("redoc.standalone.js")))
    assert js.status_code == 200
    assert js.headers["content-type"].startswith("text/javascript")


def test_doc_files_are_only_those_of_the_package(client: TestClient) -> None:
    assert client.get("/doc/static/swagger/swagger-ui.css").status_code == 200
    assert client.get("/doc/static/nothing.js").status_code == 404
    assert client.get("/doc/static/../../pyproject.toml").status_code == 404
    assert client.get("/doc/static/%2e%2e/%2e%2e/pyproject.toml").status_code == 404
