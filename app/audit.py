"""The audit of writes: every POST, PATCH, PUT and DELETE leaves one JSON line on the
`cephgw.audit` logger and, when made with a valid key, an entry in the Ceph cluster log
(`ceph log last` shows it, as it shows the dashboard's audit).

A line holds when (the request's arrival), who (key name and role, client address), what
(method, path without its query string) and how it went (HTTP status; the job a write made,
and its state when the request waited for it). It is made from the access log's
`RequestRecord`, so never from a header, a query string or a body: nothing in it can be a
key, its hash or a secret a command carried.

The cluster log is written off the request's path: the access-log observer only queues the
entry, and a task of the app's lifespan sends the queued ones to the mon. A `log` command
takes the mon about a second (it waits for its next commit), so the writer sends, in one
command, every entry queued meanwhile (up to CLUSTER_LOG_BATCH): one cluster log entry of
one line per request, each line the tag and the request's JSON line. A full queue or a
failed write loses those entries, never fails a request: they are counted
(`cephgw_audit_cluster_log_failures_total`) and logged as a warning. The JSON lines on
`cephgw.audit` are the complete audit; the cluster log is the cluster's own view of it.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from app.access_log import COMPACT_JSON, RequestRecord
from app.ceph import cluster_log
from app.ceph.client import CephClient
from app.errors import GatewayError

LOGGER_NAME = "cephgw.audit"
MUTATING_METHODS = frozenset({"POST", "PATCH", "PUT", "DELETE"})
# What starts each entry in the cluster log, so that `ceph log last | grep` finds them.
CLUSTER_LOG_TAG = "cephgw audit: "
# Entries waiting for the cluster log at most; past it the newest are dropped (and counted):
# a mon that answers slowly must not make the gateway's memory grow.
CLUSTER_LOG_BACKLOG = 1000
# Requests one cluster log entry holds at most (one line each).
CLUSTER_LOG_BATCH = 100

log = logging.getLogger(LOGGER_NAME)
# The gateway's own messages about the audit: not on `log`, whose every line is JSON.
warnings = logging.getLogger(__name__)

# Told why an entry did not reach the cluster log: "dropped" (the queue was full) or
# "failed" (the mon refused it, or did not answer).
ClusterLogFailure = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One audited request."""

    time: float  # wall clock (epoch seconds) when it arrived
    key: str | None  # None: no key was accepted (missing, wrong, throttled)
    role: str | None
    client: str | None
    method: str
    path: str
    status: int
    job_id: str | None
    job_state: str | None


def audit_record(request: RequestRecord) -> AuditRecord | None:
    """The audit of a finished request; None for one that changes nothing (a GET)."""
    if request.method not in MUTATING_METHODS:
        return None
    return AuditRecord(
        time=request.started,
        key=request.key,
        role=request.role,
        client=request.client,
        method=request.method,
        path=request.path,
        status=request.status,
        job_id=request.job_id,
        job_state=request.job_state,
    )


def format_audit_line(record: AuditRecord) -> str:
    """The JSON line of one audited request (no newline in it, whatever the path holds)."""
    started = dt.datetime.fromtimestamp(record.time, dt.UTC)
    return COMPACT_JSON.encode(
        {
            "time": started.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "key": record.key,
            "role": record.role,
            "client": record.client,
            "method": record.method,
            "path": record.path,
            "status": record.status,
            "job_id": record.job_id,
            "job_state": record.job_state,
        }
    )


def cluster_log_text(record: AuditRecord) -> str:
    """The cluster log's entry: the tag, then the audit line (`Auditor.observe` adds the tag
    to the line it logged)."""
    return CLUSTER_LOG_TAG + format_audit_line(record)


class Auditor:
    """Audits the requests the access log observes (`observe`); while `writing_cluster_log`
    is open (the app's lifespan), their entries go to the cluster log too."""

    def __init__(self, *, cluster_log: bool, on_cluster_log_failure: ClusterLogFailure) -> None:
        self._cluster_log = cluster_log
        self._on_failure = on_cluster_log_failure
        self._queue: MemoryObjectSendStream[str] | None = None  # while writing
        self._failing = False  # whether the last write to the cluster log failed

    def observe(self, request: RequestRecord) -> None:
        """Audit one finished request (an access-log observer; on the event loop)."""
        record = audit_record(request)
        if record is None:
            return
        line = format_audit_line(record)  # once, for both
        if log.isEnabledFor(logging.INFO):
            log.info(line)
        # Only what a valid key did: requests without one must not fill the mon's log.
        if self._queue is not None and record.key is not None:
            try:
                self._queue.send_nowait(CLUSTER_LOG_TAG + line)
            except anyio.WouldBlock:
                self._on_failure("dropped")

    @asynccontextmanager
    async def writing_cluster_log(self, ceph: CephClient) -> AsyncIterator[None]:
        """While open, a task of its own sends the entries queued to the cluster log (none
        when the auditor was made without it); those still queued at the end are lost."""
        if not self._cluster_log:
            yield
            return
        queue, queued = anyio.create_memory_object_stream[str](CLUSTER_LOG_BACKLOG)
        with queue, queued:
            async with anyio.create_task_group() as tg:
                tg.start_soon(self._write, ceph, queued)
                self._queue = queue
                try:
                    yield
                finally:
                    self._queue = None
                    tg.cancel_scope.cancel()

    async def _write(self, ceph: CephClient, queued: MemoryObjectReceiveStream[str]) -> None:
        # Those queued while a write was on its way go together, one line each.
        while True:
            batch = [await queued.receive()]
            while len(batch) < CLUSTER_LOG_BATCH:
                try:
                    batch.append(queued.receive_nowait())
                except anyio.WouldBlock:
                    break
            try:
                await cluster_log.write(ceph, "\n".join(batch))
            except GatewayError as exc:
                for _ in batch:
                    self._on_failure("failed")
                # Once per run of failures: a mon that refuses every entry (no cap for it)
                # must not make one warning of every write.
                if not self._failing:
                    warnings.warning(
                        "cannot write the audit to the cluster log (counted in metrics from "
                        "now on): %s",
                        exc.message,
                    )
                self._failing = True
            else:
                if self._failing:
                    warnings.info("the audit reaches the cluster log again")
                self._failing = False


def configure_audit_log(path: Path | None, stream: IO[str]) -> None:
    """Write the audit's lines as they are (each line is JSON) to the file `path` (appended
    to), or to `stream` when None, apart from the gateway's other log messages. `cephgw serve`
    calls it; tests do not."""
    handler = logging.FileHandler(path) if path else logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(message)s"))
    log.handlers[:] = [handler]
    log.propagate = False
    log.setLevel(logging.INFO)
