"""The Ceph client layer and the cluster-state cache under a failing cluster: with the only mon
frozen, reads answer within a second from the maps last known (marked stale), or 503 when
nothing is known yet; writes answer 503 at once; and the same connection recovers on its own
when the mon answers again."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from app.routers.route import STALE_WARNING
from app.settings import Settings
from cli.dev_cluster import DevCluster
from tests.support import wait_until
from tests.support.server import gateway

pytestmark = pytest.mark.integration

Auth = tuple[str, str]


@contextmanager
def frozen_mon(cluster: DevCluster) -> Iterator[None]:
    """SIGSTOP the mon: it keeps its sockets open but answers nothing, like a hung host."""
    pid = int((cluster.directory / "run" / "mon.a.pid").read_text().strip())
    assert str(cluster.conf).encode() in Path(f"/proc/{pid}/cmdline").read_bytes()
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


def timed_get(client: TestClient, path: str, auth: Auth) -> tuple[float, httpx.Response]:
    started = time.monotonic()
    response = client.get(path, auth=auth)
    return time.monotonic() - started, response


def test_a_frozen_mon_is_answered_from_the_last_maps_then_all_recovers(
    settings: Settings, cluster: DevCluster, admin_auth: Auth
) -> None:
    with gateway(settings, admin_auth, ceph_timeout=2.0) as client:
        known = client.get("/osd", auth=admin_auth).json()
        with frozen_mon(cluster):
            time.sleep(1.5)  # past cache_max_age: the next read asks the cluster
            started = time.monotonic()
            r = client.get("/osd", auth=admin_auth)
            elapsed = time.monotonic() - started
            assert r.status_code == 200, r.text
            assert r.json() == known
            assert r.headers["warning"] == STALE_WARNING
            assert int(r.headers["age"]) >= 1
            # The refresh may not finish: the read waits cache_stale_after (1 s), no more.
            assert elapsed < 2.0, f"a stale read took {elapsed:.1f} s"
            # The gateway knows the cluster is away: a write is refused at once, not after
            # the job's commands time out.
            wait_until(
                lambda: (
                    client.post(
                        "/request", json={"prefix": "osd stat"}, auth=admin_auth
                    ).status_code
                    == 503
                ),
                "a write is refused while the mon is frozen",
                limit=10,
            )
            started = time.monotonic()
            refused = client.post("/request", json={"prefix": "osd stat"}, auth=admin_auth)
            assert time.monotonic() - started < 0.5
            assert refused.status_code == 503
            assert refused.headers["retry-after"]
            assert "has not answered" in refused.json()["message"]
            assert client.get("/readyz").status_code == 503
        # The handle reconnects by itself once the mon answers again, and so does the cache.

        def fresh_read() -> httpx.Response | None:
            r = client.get("/osd", auth=admin_auth)
            return r if r.status_code == 200 and "warning" not in r.headers else None

        def taken_write() -> httpx.Response | None:
            r = client.post("/request?wait=1", json={"prefix": "osd stat"}, auth=admin_auth)
            return r if r.status_code == 200 else None

        fresh = wait_until(fresh_read, "fresh answers once the mon is back", 30, 0.5)
        assert fresh is not None
        assert isinstance(fresh.json(), list)
        job = wait_until(taken_write, "writes are taken again", 30, 0.5)
        assert job is not None
        assert job.json()["state"] == "success"


def test_with_nothing_known_a_frozen_mon_is_a_quick_503(
    settings: Settings, cluster: DevCluster, admin_auth: Auth
) -> None:
    # The gateway has read the OSD map (GET /pool) but not the monmap yet.
    with gateway(settings, admin_auth, ceph_timeout=2.0) as client, frozen_mon(cluster):
        elapsed, r = timed_get(client, "/mon", admin_auth)
        assert r.status_code == 503, r.text
        assert r.headers["retry-after"]
        assert "nothing is known of its monmap" in r.json()["message"]
        assert elapsed < 2.0
