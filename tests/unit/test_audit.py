"""The audit's line and cluster-log entry, and the auditor on a fake cluster (no cluster)."""

from __future__ import annotations

import errno
import json
import logging
from collections.abc import Mapping
from typing import Any, cast

import anyio
import pytest

from app.access_log import RequestRecord, format_access_line, record_of
from app.audit import (
    CLUSTER_LOG_BACKLOG,
    CLUSTER_LOG_BATCH,
    CLUSTER_LOG_TAG,
    LOGGER_NAME,
    Auditor,
    audit_record,
    cluster_log_text,
    format_audit_line,
)
from app.ceph.client import CephClient
from app.errors import CephError
from tests.support import json_log_lines

FIELDS = {"time", "key", "role", "client", "method", "path", "status", "job_id", "job_state"}
SECRET = "hunter2-the-key"
JOB_ID = "5d0f4c9e-8d3b-4b8e-9a57-0c7f3e1b2a64"


def _request(**changes: Any) -> RequestRecord:
    values: dict[str, Any] = {
        "started": 1_700_000_000.1234,
        "client": "192.0.2.7",
        "key": "ops",
        "method": "PATCH",
        "route": "/osd/{osd_id}",
        "path": "/osd/3",
        "status": 200,
        "duration": 0.0123,
        "role": "admin",
        "job_id": JOB_ID,
        "job_state": "success",
    }
    values.update(changes)
    return RequestRecord(**values)


def _audit_line(request: RequestRecord) -> dict[str, Any]:
    record = audit_record(request)
    assert record is not None
    parsed: dict[str, Any] = json.loads(format_audit_line(record))
    return parsed


def test_a_write_is_one_json_line_with_exactly_the_fields() -> None:
    assert _audit_line(_request()) == {
        "time": "2023-11-14T22:13:20.123Z",
        "key": "ops",
        "role": "admin",
        "client": "192.0.2.7",
        "method": "PATCH",
        "path": "/osd/3",
        "status": 200,
        "job_id": JOB_ID,
        "job_state": "success",
    }


@pytest.mark.parametrize("method", ["POST", "PATCH", "PUT", "DELETE"])
def test_every_mutating_method_is_audited(method: str) -> None:
    assert _audit_line(_request(method=method))["method"] == method


@pytest.mark.parametrize("method", ["GET", "HEAD", "OPTIONS"])
def test_reads_are_not_audited(method: str) -> None:
    assert audit_record(_request(method=method)) is None


def test_a_refused_write_has_no_key_role_or_job() -> None:
    line = _audit_line(_request(key=None, role=None, job_id=None, job_state=None, status=401))
    assert set(line) == FIELDS
    assert (line["key"], line["role"], line["job_id"], line["status"]) == (None, None, None, 401)


def test_a_path_with_a_newline_stays_one_line() -> None:
    record = audit_record(_request(path='/pool/x\n{"key":"root"}\u2028'))
    assert record is not None
    for text in (format_audit_line(record), cluster_log_text(record)):
        assert "\n" not in text
        assert "\u2028" not in text


def test_the_record_holds_nothing_of_the_credential_query_or_body() -> None:
    scope: dict[str, Any] = {
        "type": "http",
        "method": "POST",
        "path": "/request",
        "query_string": f"wait=1&key={SECRET}".encode(),
        "client": ("198.51.100.1", 51234),
        "headers": [(b"authorization", b"Basic b3BzOmh1bnRlcjItdGhlLWtleQ==")],
        "state": {
            "key_name": "ops",
            "key_role": "admin",
            "job_id": JOB_ID,
            "job_state": "pending",
            "keys": object(),
        },
    }
    record = audit_record(record_of(scope, 202, 1_700_000_000.0, 0.5))
    assert record is not None
    line = format_audit_line(record)
    assert json.loads(line)["job_state"] == "pending"
    for text in (line, cluster_log_text(record)):
        assert SECRET not in text
        assert "b3BzOmh1bnRlcjI" not in text
        assert "wait=1" not in text
    # The access log's line is unchanged: the audit's fields are not in it.
    assert "job_id" not in format_access_line(record_of(scope, 202, 1_700_000_000.0, 0.5))


def test_the_cluster_log_entry_is_the_tag_and_the_line() -> None:
    record = audit_record(_request())
    assert record is not None
    text = cluster_log_text(record)
    assert text.startswith(CLUSTER_LOG_TAG)
    assert json.loads(text.removeprefix(CLUSTER_LOG_TAG)) == _audit_line(_request())


# -- the auditor ------------------------------------------------------------------------------


class FakeCeph:
    """Takes `log` commands; refuses the first `refuse` of them as a cephx cap would."""

    def __init__(self, refuse: int = 0) -> None:
        self.logged: list[str] = []  # each entry's lines
        self.refuse = refuse
        self.asked: anyio.Event | None = None  # set once the next command came

    async def amon_command(
        self, command: Mapping[str, Any], inbuf: bytes = b"", target: str | None = None
    ) -> bytes:
        assert command["prefix"] == "log"
        if self.asked is not None:
            self.asked.set()
        if self.refuse:
            self.refuse -= 1
            raise CephError(errno.EACCES, "access denied", "log")
        [text] = command["logtext"]
        self.logged.append(text)
        return b""


def _lines_of(entry: str) -> list[dict[str, Any]]:
    lines = entry.split("\n")
    assert all(line.startswith(CLUSTER_LOG_TAG) for line in lines)
    return [json.loads(line.removeprefix(CLUSTER_LOG_TAG)) for line in lines]


def _written(auditor: Auditor, ceph: FakeCeph, waves: list[list[RequestRecord]]) -> None:
    """Each wave of requests observed at once, then the writer's command for it awaited."""

    async def main() -> None:
        async with auditor.writing_cluster_log(cast(CephClient, ceph)):
            for wave in waves:
                asked = ceph.asked = anyio.Event()
                for request in wave:
                    auditor.observe(request)
                with anyio.fail_after(5):
                    await asked.wait()
                await anyio.wait_all_tasks_blocked()  # the command's answer handled too

    anyio.run(main)


def test_the_auditor_logs_writes_and_sends_keyed_ones_to_the_cluster_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER_NAME)
    failures: list[str] = []
    auditor = Auditor(cluster_log=True, on_cluster_log_failure=failures.append)
    ceph = FakeCeph()
    anonymous = _request(key=None, role=None, job_id=None, job_state=None, status=401)
    _written(auditor, ceph, [[_request(method="GET"), anonymous, _request()]])
    lines = json_log_lines(caplog, LOGGER_NAME)
    assert [(line["key"], line["status"]) for line in lines] == [(None, 401), ("ops", 200)]
    # Only the request made with a valid key reaches the cluster log.
    assert [_lines_of(entry) for entry in ceph.logged] == [[lines[1]]]
    assert failures == []


def test_entries_queued_meanwhile_go_in_one_command_one_line_each() -> None:
    failures: list[str] = []
    auditor = Auditor(cluster_log=True, on_cluster_log_failure=failures.append)
    ceph = FakeCeph()
    paths = [f"/pool/p{n}" for n in range(CLUSTER_LOG_BATCH + 5)]
    _written(auditor, ceph, [[_request(path=p) for p in paths]])
    entries = [[line["path"] for line in _lines_of(entry)] for entry in ceph.logged]
    assert entries == [paths[:CLUSTER_LOG_BATCH], paths[CLUSTER_LOG_BATCH:]]
    assert failures == []


def test_a_failed_cluster_log_write_is_counted_and_warned_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    failures: list[str] = []
    auditor = Auditor(cluster_log=True, on_cluster_log_failure=failures.append)
    ceph = FakeCeph(refuse=2)
    waves = [[_request(path="/pool/p0"), _request(path="/pool/p1")], [_request(path="/pool/p2")]]
    _written(auditor, ceph, [*waves, [_request(path="/pool/p3")]])
    assert failures == ["failed"] * 3  # each request of both refused commands
    assert [_lines_of(entry)[0]["path"] for entry in ceph.logged] == ["/pool/p3"]
    warned = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warned) == 1
    assert "access denied" in warned[0].getMessage()
    assert warned[0].name != LOGGER_NAME  # the audit's own lines stay JSON only


def _observed_at_once(auditor: Auditor, count: int) -> None:
    """`count` requests observed while the cluster log is being written, with no await
    between them (so the writer takes none meanwhile)."""

    async def main() -> None:
        async with auditor.writing_cluster_log(cast(CephClient, FakeCeph())):
            for _ in range(count):
                auditor.observe(_request())

    anyio.run(main)


def test_a_full_queue_drops_and_counts_without_blocking() -> None:
    failures: list[str] = []
    auditor = Auditor(cluster_log=True, on_cluster_log_failure=failures.append)
    _observed_at_once(auditor, CLUSTER_LOG_BACKLOG + 3)
    assert failures == ["dropped"] * 3


def test_without_the_cluster_log_nothing_is_queued() -> None:
    failures: list[str] = []
    auditor = Auditor(cluster_log=False, on_cluster_log_failure=failures.append)
    _observed_at_once(auditor, CLUSTER_LOG_BACKLOG + 3)
    assert failures == []


def test_outside_the_lifespan_nothing_is_queued(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER_NAME)
    failures: list[str] = []
    auditor = Auditor(cluster_log=True, on_cluster_log_failure=failures.append)
    for _ in range(CLUSTER_LOG_BACKLOG + 3):
        auditor.observe(_request())
    assert failures == []
    assert len([r for r in caplog.records if r.name == LOGGER_NAME]) == CLUSTER_LOG_BACKLOG + 3
