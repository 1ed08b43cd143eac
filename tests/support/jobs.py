"""Jobs as the tests see them: commands to run, a job's JSON read, waited for and checked, and
the restful module's own, recorded."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient

from tests.support import ask_until, load_sample

Auth = tuple[str, str]

# The module's answer to POST /pool {"name": "sample", "pg_num": 8, "size": 1} without ?wait.
MODULE_POST_POOL_NOWAIT: dict[str, Any] = load_sample("POST_pool_nowait.json")

OSD_STAT = {"prefix": "osd stat", "format": "json"}


def slow() -> dict[str, Any]:
    """A real, harmless command that changes the OSD map, so that it waits for the mon's next
    proposal (paxos_propose_interval, 1 s) when one went shortly before: two waves of it take
    a second or more. It blocklists a documentation address (TEST-NET-1) for 30 s."""
    return {
        "prefix": "osd blocklist",
        "blocklistop": "add",
        "addr": f"192.0.2.1:0/{uuid.uuid4().int % 10**9}",
        "expire": 30.0,
    }


class FakeClock:
    """A clock moved by hand (a job table's, the login throttle's): a TTL or a window is
    tested without sleeping."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def wait_until_finished(client: TestClient, auth: Auth, job_id: str, limit: float = 30) -> Any:
    """The job's JSON once it is finished."""
    return ask_until(
        lambda: client.get(f"/request/{job_id}", auth=auth).json(),
        lambda job: job["is_finished"],
        f"job {job_id} is finished",
        limit,
        interval=0.05,
    )


def job_ids(client: TestClient, auth: Auth) -> set[str]:
    r = client.get("/request", auth=auth)
    assert r.status_code == 200
    return {job["id"] for job in r.json()}


def commands_of(job: dict[str, Any], key: str) -> list[str]:
    return [c["command"] for c in job[key]]


def assert_succeeded(job: dict[str, Any]) -> None:
    assert job["failed"] == [], job["failed"]
    assert (job["state"], job["is_finished"], job["has_failed"]) == ("success", True, False)
    assert all(c["errno"] == 0 for c in job["finished"]), job["finished"]
