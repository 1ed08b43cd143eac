"""The Ceph client layer and the cluster-state cache under a failing cluster: with the only mon
frozen, reads answer within a second from the maps last known (marked stale), or 503 when
nothing is known yet; writes answer 503 at once; and the same connection recovers on its own
when the mon answers again. With the mgr frozen, a job's command for it fails in time, the
mons' go on, and the mgr's late answer harms nothing."""

from __future__ import annotations

import contextlib
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
from tests.support import ask_until, wait_until
from tests.support.jobs import OSD_STAT, assert_succeeded
from tests.support.server import (
    Gateway,
    free_port,
    gateway,
    self_signed_certificate,
    serving_process,
    shown_on_failure,
    wait_serving,
)

pytestmark = pytest.mark.integration

Auth = tuple[str, str]


def frozen_mon(cluster: DevCluster) -> contextlib.AbstractContextManager[None]:
    return frozen(cluster, "mon.a")


@contextmanager
def frozen(cluster: DevCluster, daemon: str) -> Iterator[None]:
    """SIGSTOP a daemon (`mon.a`, `mgr.x`): it keeps its sockets open but answers nothing,
    like a hung host; SIGCONT afterwards."""
    pid = int((cluster.directory / "run" / f"{daemon}.pid").read_text().strip())
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


PG_DUMP = {"prefix": "pg dump", "format": "json"}


def test_a_frozen_mgr_fails_a_jobs_command_in_time_and_its_late_answer_harms_nothing(
    cluster: DevCluster, admin_auth: Auth, tmp_path: Path
) -> None:
    # `cephgw serve` of its own, not the app in pytest's process: librados may kill it. (It
    # did, given up on by librados' own timeout; not every time: the freed stack may be
    # left untouched. The job's errno and message are what this tells for certain.)
    mgr_name = "frozenmgr"  # where its certificate is kept
    log = tmp_path / "serve.log"
    with self_signed_certificate(cluster, mgr_name) as cert_pem:
        port = free_port()
        timeout = {"CEPHGW_CEPH_TIMEOUT": "2"}
        server = serving_process(cluster, mgr_name, port, log, "--server", "uvicorn", env=timeout)
        with server as proc:
            gw = Gateway(f"https://127.0.0.1:{port}", cert_pem, log, pid=proc.pid)
            wait_serving(proc, gw, admin_auth)
            http = httpx.Client(base_url=gw.url, verify=gw.ssl_context(), auth=admin_auth)
            with http, shown_on_failure(gw):
                with frozen(cluster, f"mgr.{cluster.mgr_name}"):
                    started = time.monotonic()
                    r = http.post("/request?wait=1", json=PG_DUMP, timeout=30)
                    took = time.monotonic() - started
                    assert r.status_code == 200, r.text
                    failed = {"outs": "the mgr did not answer within 2 s", "errno": 110}
                    assert r.json()["failed"] == [
                        {"command": "pg dump format=json", "outb": "", **failed}
                    ]
                    assert took < 4, took
                    # The mons answered all along: a job of theirs runs at once.
                    r = http.post("/request?wait=1", json=OSD_STAT, timeout=30)
                    assert r.status_code == 200, r.text
                    assert_succeeded(r.json())
                # Thawed, the mgr answers the command it held, to a caller long gone, before
                # any later one (it answers in order).
                ask_until(
                    lambda: http.post("/request?wait=1", json=PG_DUMP, timeout=30).json(),
                    lambda job: job["state"] == "success",
                    "the mgr answers a job's command again",
                    limit=30,
                    interval=0.5,
                )
                assert http.get("/osd", timeout=30).status_code == 200
                assert proc.poll() is None, f"cephgw serve died: {proc.returncode}"
