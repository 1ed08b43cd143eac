"""The Ceph client layer under a failing cluster: a frozen mon gives a quick 504, not a hang,
and the same connection recovers on its own when the mon answers again."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from cli.dev_cluster import DevCluster
from tests.support import ask_until
from tests.support.server import wait_until_ready

pytestmark = pytest.mark.integration


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


def test_frozen_mon_is_a_quick_504_then_recovers(
    settings: Settings, cluster: DevCluster, admin_auth: tuple[str, str]
) -> None:
    quick = settings.model_copy(update={"ceph_timeout": 2.0})
    with TestClient(create_app(quick)) as client:
        wait_until_ready(client, "/pool", admin_auth)
        with frozen_mon(cluster):
            started = time.monotonic()
            r = client.get("/osd", auth=admin_auth)
            elapsed = time.monotonic() - started
        assert r.status_code == 504
        assert r.json()["message"]
        assert elapsed < 10, f"took {elapsed:.1f} s with a 2 s timeout"
        # The handle reconnects by itself once the mon answers again.
        r = ask_until(
            lambda: client.get("/osd", auth=admin_auth),
            lambda r: r.status_code == 200,
            "GET /osd answers 200 again, once the mon answers",
            limit=30,
            interval=0.5,
            show=lambda r: r.text,
        )
        assert isinstance(r.json(), list)
