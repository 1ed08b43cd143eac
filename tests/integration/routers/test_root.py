"""GET / against the app: the module's static answer, with no key needed."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.support import load_sample

pytestmark = pytest.mark.integration


def test_root_is_the_module_answer_without_a_key(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.json() == load_sample("GET_.json")


def test_root_ignores_credentials_like_the_module(
    client: TestClient, admin_auth: tuple[str, str]
) -> None:
    assert client.get("/", auth=admin_auth).status_code == 200
    assert client.get("/", auth=("nobody", "wrong")).status_code == 200
