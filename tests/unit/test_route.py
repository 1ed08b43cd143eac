"""The routers' shared parts that need no cluster: a resource router matches only under its
prefix, and answers there as FastAPI's own router does."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.routers.route import ResourceRouter


def _app() -> FastAPI:
    router = ResourceRouter(prefix="/osd")

    @router.get("")
    async def list_osds() -> str:
        return "list"

    @router.get("/{osd_id}")
    async def get_osd(osd_id: int) -> int:
        return osd_id

    other = ResourceRouter(prefix="/osdx")

    @other.get("")
    async def other_list() -> str:
        return "other"

    app = FastAPI()
    app.include_router(router)
    app.include_router(other)
    return app


def test_routes_under_the_prefix_match_and_others_go_on_to_later_routers() -> None:
    client = TestClient(_app())
    assert client.get("/osd").json() == "list"
    assert client.get("/osd/3").json() == 3
    assert client.get("/osdx").json() == "other"  # not taken for /osd's
    assert client.get("/osd/x").status_code == 422
    assert client.post("/osd").status_code == 405  # a partial match still says so
    assert client.get("/nothing").status_code == 404
    # The trailing slash is redirected as FastAPI does, not refused.
    response = client.get("/osd/", follow_redirects=False)
    assert response.status_code == 307
    assert response.headers["location"].endswith("/osd")
