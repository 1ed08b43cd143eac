"""The job table: every write runs as a job of waves of mon commands, as in the restful module.

A job is a list of waves; the commands of a wave run at once (each a librados mon command on
the Ceph client's thread limiter), waves one after another, and a failed command does not
stop the later waves (the module's behaviour). The table keeps unfinished jobs until they
finish and finished ones for `job_ttl` seconds, at most `job_max_finished` of them and
`job_max_output_bytes` of output: the oldest finished go first; unfinished ones never.

A command the mgr serves (the cluster's command table says) is sent to the active mgr, not
to a mon that would pass it on.

It knows no HTTP: a write route runs its waves through `app.deps.JobRunnerDep`, which submits
them here, waits with ?wait=1 and answers 200 or 202.
"""

from __future__ import annotations

import errno as errno_codes
import json
import logging
import os
import socket
import time
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

import anyio
from anyio.abc import TaskGroup

from app.ceph.client import CephClient
from app.ceph.commands import humanize_command, paginate
from app.ceph.job_records import JobRecordStore, StoredRecords
from app.ceph.state import CommandAnswers
from app.errors import GatewayError, ServiceUnavailable
from app.settings import Settings

log = logging.getLogger(__name__)

Command = Mapping[str, Any]
Waves = Sequence[Sequence[Command]]
Clock = Callable[[], float]

PENDING, SUCCESS, FAILED = "pending", "success", "failed"

# Seconds between two looks at a shared store that does not answer.
STORE_PROBE_INTERVAL = 0.5

# -- pure parts --------------------------------------------------------------------------------


def job_state(*, running: bool, waiting: bool, failed: bool) -> str:
    """The module's `get_state`: pending until nothing runs or waits, then failed or success."""
    if running or waiting:
        return PENDING
    return FAILED if failed else SUCCESS


class CommandRun:
    """One command of a job: its humanised form and, once answered, Ceph's answer."""

    __slots__ = ("command", "errno", "outb", "outs")

    def __init__(self, command: str) -> None:
        self.command = command
        self.outs = ""
        self.outb = ""
        self.errno: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {"command": self.command, "outs": self.outs, "outb": self.outb, "errno": self.errno}


class Job:
    """One job's bookkeeping. Mutated only on the event loop, so it needs no lock."""

    __slots__ = (
        "_done",
        "_event",
        "_saving",
        "cancelled",
        "ended_at",
        "ended_wall",
        "failed",
        "finished",
        "id",
        "output_bytes",
        "record_current",
        "recorded",
        "running",
        "submitted_at",
        "submitted_by",
        "waiting",
    )

    def __init__(
        self,
        job_id: str,
        waves: Iterable[Iterable[Command]],
        submitted_by: str = "",
        submitted_at: float = 0.0,
    ) -> None:
        self.id = job_id
        self.submitted_by = submitted_by  # the key's name
        self.submitted_at = submitted_at  # wall-clock seconds
        # With a shared store: whether its record was written there, and the lock that keeps
        # one write of it at a time (each writes the job as it stands once it has the lock,
        # so the last one written is the newest).
        self.recorded = False
        self.record_current = False  # the store holds the job as it stands now
        self._saving: anyio.Lock | None = None
        # Empty waves are dropped, as the module did; the commands are copied so that a
        # caller's later change cannot alter a job.
        self.waiting: list[list[dict[str, Any]]] = [
            [dict(c) for c in wave] for wave in (list(w) for w in waves) if wave
        ]
        self.running: list[CommandRun] = []
        self.finished: list[CommandRun] = []
        self.failed: list[CommandRun] = []
        self.cancelled = False
        self.ended_at: float | None = None  # monotonic, for this table's TTL
        # Wall-clock seconds, as the shared store keeps them (written once the job ended,
        # which may be later when the store did not answer meanwhile).
        self.ended_wall: float | None = None
        self.output_bytes = 0
        self._done = False
        self._event: anyio.Event | None = None  # made only when someone waits

    # The module's predicates.
    @property
    def is_waiting(self) -> bool:
        return bool(self.waiting)

    @property
    def is_finished(self) -> bool:
        return not self.running and not self.waiting

    @property
    def has_failed(self) -> bool:
        return bool(self.failed)

    @property
    def state(self) -> str:
        return job_state(
            running=bool(self.running), waiting=bool(self.waiting), failed=bool(self.failed)
        )

    @property
    def done(self) -> bool:
        """Whether the job will change no more (finished, cancelled or shut down)."""
        return self._done

    def start_next_wave(self) -> list[tuple[CommandRun, dict[str, Any]]]:
        """Move the first waiting wave to `running`; returns its commands with their runs."""
        wave = self.waiting.pop(0)
        runs = [(CommandRun(humanize_command(c)), c) for c in wave]
        self.running.extend(run for run, _ in runs)
        return runs

    def complete(self, run: CommandRun, ret: int, outb: str, outs: str) -> None:
        """Record Ceph's answer to one running command (the module's `finish`)."""
        run.outb, run.outs, run.errno = outb, outs, abs(ret)
        self.output_bytes += len(outb) + len(outs)
        self.running.remove(run)
        (self.finished if ret == 0 else self.failed).append(run)

    def mark_done(self, now: float) -> None:
        self._done = True
        self.ended_at = now
        if self._event is not None:
            self._event.set()
            self._event = None

    @property
    def saving(self) -> anyio.Lock:
        if self._saving is None:
            self._saving = anyio.Lock()
        return self._saving

    async def wait(self) -> None:
        """Block (on an event, not a poll) until the job changes no more."""
        if self._done:
            return
        if self._event is None:
            self._event = anyio.Event()
        await self._event.wait()

    def to_json(self) -> dict[str, Any]:
        """The module's JSON of a request (plus `errno` in each command)."""
        return {
            "id": self.id,
            "running": [r.to_json() for r in self.running],
            "finished": [r.to_json() for r in self.finished],
            "failed": [r.to_json() for r in self.failed],
            "waiting": [[humanize_command(c) for c in wave] for wave in self.waiting],
            "is_waiting": self.is_waiting,
            "is_finished": self.is_finished,
            "has_failed": self.has_failed,
            "state": self.state,
        }


# -- records of the shared store (pure) ---------------------------------------------------------


def job_record(job: Job, *, gateway: str, now: float, lease: float, stopped: bool = False) -> str:
    """The job's record in the shared store: the module's JSON of it, and who runs it.

    `lease_until` (wall-clock seconds) is set while the job is unfinished: past it, the job
    is taken as lost with its gateway. `stopped`: the job changes no more (finished,
    cancelled or given up), so it is ended (when it did, or else at `now`).
    """
    ended = stopped or job.is_finished
    ended_at = job.ended_wall if job.ended_wall is not None else now
    return json.dumps(
        {
            "job": job.to_json(),
            "gateway": gateway,
            "key": job.submitted_by,
            "submitted": job.submitted_at,
            "ended": ended_at if ended else None,
            "lease_until": None if ended else now + lease,
            "output_bytes": job.output_bytes,
        },
        separators=(",", ":"),
    )


def record_is_finished(record: Mapping[str, Any]) -> bool:
    return bool(record["job"]["is_finished"])


def abandoned(record: Mapping[str, Any], now: float) -> dict[str, Any]:
    """A record whose gateway stopped while its job ran, ended as failed: its running and
    waiting commands each failed with a message naming the gateway."""
    job = dict(record["job"])
    reason = f"gateway {record['gateway']} stopped while this job ran"
    lost = [
        {**run, "errno": errno_codes.ECANCELED, "outs": f"{reason}; it may or may not have run"}
        for run in job["running"]
    ]
    never = [
        {
            "command": command,
            "outs": f"{reason}; not run",
            "outb": "",
            "errno": errno_codes.ECANCELED,
        }
        for wave in job["waiting"]
        for command in wave
    ]
    job.update(
        running=[],
        waiting=[],
        failed=[*job["failed"], *lost, *never],
        is_waiting=False,
        is_finished=True,
        has_failed=True,
        state=FAILED,
    )
    return {**record, "job": job, "ended": now, "lease_until": None}


def records_to_evict(
    records: Mapping[str, Mapping[str, Any]],
    *,
    now: float,
    ttl: float,
    max_finished: int,
    max_output_bytes: int,
    cleared_before: float | None = None,
) -> list[str]:
    """Finished records past the TTL, the count or the output bytes, or ended before the
    last DELETE /request (`cleared_before`), oldest ended first (the table's own eviction,
    over every gateway's jobs)."""
    finished = sorted(
        (r["ended"], job_id, int(r["output_bytes"]))
        for job_id, r in records.items()
        if record_is_finished(r)
    )
    count, total = len(finished), sum(size for _, _, size in finished)
    evicted: list[str] = []
    for ended, job_id, size in finished:
        if (
            count <= max_finished
            and total <= max_output_bytes
            and now - ended < ttl
            and not cleared(ended, cleared_before)
        ):
            break
        evicted.append(job_id)
        count, total = count - 1, total - size
    return evicted


def cleared(ended: float | None, cleared_before: float | None) -> bool:
    """Whether a job that ended at `ended` was deleted by the last DELETE /request."""
    return ended is not None and cleared_before is not None and ended <= cleared_before


def default_gateway_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


# -- the table ---------------------------------------------------------------------------------


class JobTable:
    """Every job of the process, in submit order; opened by `open_job_table` (the lifespan)."""

    def __init__(
        self,
        ceph: CephClient,
        settings: Settings,
        clock: Clock = time.monotonic,
        on_change: Callable[[], Awaitable[None]] | None = None,
        read_only: Callable[[Command], bool] | None = None,
        records: JobRecordStore | None = None,
        wall_clock: Clock = time.time,
        served_by_mgr: Callable[[Command], bool] | None = None,
        answers: CommandAnswers | None = None,
    ):
        self._ceph = ceph
        self._settings = settings
        self._clock = clock
        # Awaited after every command a job ran that may have changed the cluster, before the
        # job goes on: what the gateway (and its peers) know of it may be old.
        self._on_change = on_change
        # Whether a command only reads (the cluster's command table says): identical ones in
        # flight then share one librados call, as reads do, and change nothing.
        self._read_only = read_only or (lambda _command: False)
        # Whether the mgr serves a command (the same table says): it is sent to the active mgr
        # itself, not to a mon that would pass it on; a mgr that does not answer in time then
        # says nothing of the mons (app/ceph/client.py).
        self._served_by_mgr = served_by_mgr or (lambda _command: False)
        # Where read-only commands' recent answers are kept (the cluster-state cache's), as
        # reads are: such a command asked again meanwhile is answered from there.
        self._answers = answers
        self._jobs: dict[str, Job] = {}  # submit order
        self._ended: OrderedDict[str, Job] = OrderedDict()  # finished jobs, oldest first
        self._ended_bytes = 0
        self._unfinished: set[Job] = set()  # running, including deleted ones
        self._commands = anyio.Semaphore(settings.job_command_concurrency)
        self._task_group: TaskGroup | None = None
        self._closed = False
        # With job_store=rados: every job's record, shared with the cluster's other gateways,
        # which answer /request from it; this table still runs its own jobs.
        self._records = records
        self._wall_clock = wall_clock
        # The store's last clearing as last read (see app/ceph/job_records.py).
        self._cleared_before: float | None = None
        self.gateway = settings.gateway_name or default_gateway_name()

    # -- reading ------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._jobs)

    @property
    def running_count(self) -> int:
        return len(self._unfinished)

    @property
    def finished_count(self) -> int:
        return len(self._ended)

    @property
    def finished_output_bytes(self) -> int:
        return self._ended_bytes

    def list_jobs(self) -> list[Job]:
        """All jobs, oldest first (expired finished ones dropped first)."""
        self._evict()
        return list(self._jobs.values())

    def get(self, job_id: str) -> Job | None:
        self._evict()
        return self._jobs.get(job_id)

    # -- writing ------------------------------------------------------------------------------

    def submit(self, waves: Iterable[Iterable[Command]], submitted_by: str = "") -> Job:
        """Start a job: its first wave is running when this returns (as with the module).

        Validate and check every command before: nothing here refuses a single command.
        With a shared store use `start`, which records the job before it runs.
        """
        job, first = self._admit(waves, submitted_by)
        if first:
            self._launch(job, first)
        return job

    async def start(
        self, waves: Iterable[Iterable[Command]], submitted_by: str = "", *, at_once: bool = False
    ) -> Job:
        """`submit`, with the job's record written to the shared store first (if there is
        one): any gateway knows the job once this returns. While the store does not answer
        (a paused or full cluster: see app/ceph/job_records.py) the job runs unrecorded,
        known to this gateway only, and is recorded once the store answers again: a job
        that unsets `pause` must be able to run.

        `at_once`, for a caller that waits for the job anyway (?wait=1): without a shared
        store, a job of one wave whose every command only reads and has an answer kept
        (`CommandAnswers`) ends before this returns, with those answers, and no task of its
        own. Otherwise (and always without it, as with the module) its first wave is
        running when this returns."""
        job, first = self._admit(waves, submitted_by)
        if at_once and self._records is None and self._ended_at_once(job, first):
            return job
        if self._records is not None:
            await self._save_or_warn(job)
        if first:
            self._launch(job, first)
        return job

    def _admit(
        self, waves: Iterable[Iterable[Command]], submitted_by: str
    ) -> tuple[Job, list[tuple[CommandRun, dict[str, Any]]]]:
        """The job, kept, with its first wave moved to running (none when it has nothing to
        run: then it is finished already)."""
        if self._task_group is None or self._closed:
            raise ServiceUnavailable("the gateway is shutting down: it takes no new jobs")
        if len(self._unfinished) >= self._settings.job_max_running:
            raise ServiceUnavailable(
                f"{len(self._unfinished)} jobs are running, the most this gateway runs at "
                "once (job_max_running); retry later"
            )
        self._evict()
        job_id = str(uuid.uuid4())
        while job_id in self._jobs:  # pragma: no cover - 122 random bits
            job_id = str(uuid.uuid4())
        job = Job(job_id, waves, submitted_by, self._wall_clock())
        if job.is_finished:  # nothing to run
            job.ended_wall = job.submitted_at
            self._jobs[job.id] = job
            self._job_ended(job)
            return job, []
        if self._ceph.unreachable_since is not None:
            # Its commands would wait out the timeout each; the client learns it at once.
            away = time.monotonic() - self._ceph.unreachable_since
            raise ServiceUnavailable(
                f"the cluster has not answered for {away:.0f} s: no job is started until it "
                "does; retry later",
                retry_after=max(1, int(self._settings.reconnect_interval)),
            )
        self._jobs[job.id] = job
        first = job.start_next_wave()
        self._unfinished.add(job)
        return job, first

    def _ended_at_once(self, job: Job, first: list[tuple[CommandRun, dict[str, Any]]]) -> bool:
        """End a job of one wave from the answers kept for its commands, if all only read and
        have one; False (the job untouched) otherwise."""
        if self._answers is None or job.waiting or not first:
            return False
        answers = []
        for _, command in first:
            answer = self._answers.kept(command) if self._read_only(command) else None
            if answer is None:
                return False
            answers.append(answer)
        self._answers.count_hits(len(answers))
        for (run, _), (ret, outb, outs) in zip(first, answers, strict=True):
            job.complete(run, ret, outb, outs)
        self._unfinished.discard(job)
        self._job_ended(job)
        return True

    def _launch(self, job: Job, first: list[tuple[CommandRun, dict[str, Any]]]) -> None:
        assert self._task_group is not None
        self._task_group.start_soon(self._run, job, first, name=f"job {job.id}")

    def delete(self, job_id: str) -> Job | None:
        """Drop a job; a running one is dropped too, and its later waves never start.

        Its running commands were sent already and are left to finish (as in the module).
        """
        job = self._jobs.pop(job_id, None)
        if job is None:
            return None
        job.cancelled = True
        if self._ended.pop(job_id, None) is not None:
            self._ended_bytes -= job.output_bytes
        return job

    def delete_finished(self) -> tuple[int, int]:
        """Drop every finished job; returns (dropped, left)."""
        dropped = len(self._ended)
        for job_id in self._ended:
            del self._jobs[job_id]
        self._ended.clear()
        self._ended_bytes = 0
        return dropped, len(self._jobs)

    async def wait(self, job: Job) -> bool:
        """Block until the job is done or job_wait_timeout passed; returns whether it is done."""
        if job.done:  # ended at once (no timeout to set up)
            return True
        with anyio.move_on_after(self._settings.job_wait_timeout):
            await job.wait()
        return job.done

    # -- running ------------------------------------------------------------------------------

    async def _run(self, job: Job, wave: list[tuple[CommandRun, dict[str, Any]]]) -> None:
        try:
            while True:
                if len(wave) == 1:  # most jobs: one command, no task group to make
                    await self._run_command(job, *wave[0])
                else:
                    async with anyio.create_task_group() as tg:
                        for run, command in wave:
                            tg.start_soon(self._run_command, job, run, command)
                # Like the module, a failure does not stop the later waves; a deleted job's do
                # not start (the module lost track of them).
                if job.cancelled or not job.waiting:
                    break
                wave = job.start_next_wave()
        finally:
            for run in list(job.running):  # only when cancelled at shutdown
                job.complete(
                    run, -errno_codes.ECANCELED, "", "cancelled: the gateway shut down first"
                )
            self._unfinished.discard(job)
            job.ended_wall = self._wall_clock()
            recorded = False
            if self._records is not None and not job.cancelled:
                with anyio.CancelScope(shield=True):  # its end is recorded, even at shutdown
                    recorded = await self._save_or_warn(job, stopped=True)
            if recorded:
                # The store has it for every gateway (and may drop it through any of them):
                # this table keeps only what it runs, or could not record.
                self._jobs.pop(job.id, None)
                job.mark_done(self._clock())
            elif job.id in self._jobs:
                self._job_ended(job)
            else:
                job.mark_done(self._clock())

    async def _run_command(self, job: Job, run: CommandRun, command: dict[str, Any]) -> None:
        read_only = self._read_only(command)
        if self._served_by_mgr(command):
            run_command = self._ceph.amgr_command_result
        else:
            run_command = self._ceph.amon_command_result
        async with self._commands:
            try:
                if read_only and self._answers is not None:
                    ret, outb, outs = await self._answers.get(command, lambda: run_command(command))
                else:
                    ret, outb, outs = await run_command(command, shared=read_only)
            except GatewayError as exc:  # not connected, or no answer in time
                ret, outb, outs = -getattr(exc, "errno", errno_codes.EIO), "", exc.message
            except Exception as exc:  # never leave a job hanging on a surprise
                log.exception("job %s: command %r raised", job.id, run.command)
                ret, outb, outs = -errno_codes.EIO, "", f"cephgw failed to run the command: {exc}"
        job.complete(run, ret, outb, outs)
        if self._on_change is not None and not read_only:
            await self._on_change()
        if self._records is not None and not job.is_finished:  # the end is saved by _run
            await self._save_or_warn(job)

    # -- the shared store -----------------------------------------------------------------------

    async def _save(self, job: Job, *, stopped: bool = False) -> bool:
        """Write the job as it stands to the shared store; False when it is gone from there
        (deleted through another gateway)."""
        assert self._records is not None
        async with job.saving:
            record = job_record(
                job,
                gateway=self.gateway,
                now=self._wall_clock(),
                lease=self._settings.job_lease,
                stopped=stopped,
            )
            job.record_current = False
            if not job.recorded:
                await self._records.put(job.id, record)
                job.recorded = True
            elif not await self._records.update(job.id, record):
                # Deleted through another gateway: as if deleted here (later waves never run).
                self.delete(job.id)
                return False
            job.record_current = True
            return True

    async def _save_or_warn(self, job: Job, *, stopped: bool = False) -> bool:
        """`_save`; False too when the record cannot be written: the job goes on (kept by
        this table), and the store's upkeep writes it once the store answers (the store
        itself logs when it stops and starts answering)."""
        try:
            return await self._save(job, stopped=stopped)
        except GatewayError as exc:
            log.debug("job %s: its record is not written: %s", job.id, exc.message)
            return False

    def _parsed(self, stored: StoredRecords) -> dict[str, dict[str, Any]]:
        """The records read, parsed (unparsable ones left out); the clearing read is kept."""
        if stored.cleared_before is not None:
            self._cleared_before = max(self._cleared_before or 0.0, stored.cleared_before)
        parsed: dict[str, dict[str, Any]] = {}
        for job_id, value in stored.records.items():
            try:
                parsed[job_id] = json.loads(value)
            except ValueError:
                log.warning("job store: record %s is not JSON; left out", job_id)
        return parsed

    def _evicted(self, records: Mapping[str, Mapping[str, Any]], now: float) -> list[str]:
        s = self._settings
        return records_to_evict(
            records,
            now=now,
            ttl=s.job_ttl,
            max_finished=s.job_max_finished,
            max_output_bytes=s.job_max_output_bytes,
            cleared_before=self._cleared_before,
        )

    async def _live_records(self) -> dict[str, dict[str, Any]]:
        """The stored records but those the table's limits drop (not yet evicted)."""
        assert self._records is not None
        records = self._parsed(await self._records.all())
        gone = set(self._evicted(records, self._wall_clock()))
        return {job_id: r for job_id, r in records.items() if job_id not in gone}

    async def prepare_records(self) -> None:
        """Make the store's pool if it is missing, once connected, before the first job needs
        it (a failure is only logged: the upkeep tries again)."""
        if self._records is not None:
            await self._records.probe()

    async def keep_records(self) -> None:
        """The shared store's upkeep, every third of the lease, for the table's lifetime;
        while the store does not answer, every STORE_PROBE_INTERVAL: the jobs run meanwhile
        are recorded soon after it answers again."""
        assert self._records is not None
        while True:
            interval = self._settings.job_lease / 3
            if not self._records.available:
                interval = min(interval, STORE_PROBE_INTERVAL)
            await anyio.sleep(interval)
            try:
                await self.tend_records()
            except GatewayError as exc:
                log.debug("job store upkeep: %s", exc.message)

    async def tend_records(self) -> None:
        """Record what this table ran unrecorded and renew its running jobs' leases; end as
        failed the jobs whose lease is past (their gateway stopped); evict finished records
        past the table's limits."""
        assert self._records is not None
        if not self._records.available and not await self._records.probe():
            return
        # Read first: a job this table ran unrecorded, deleted meanwhile by a DELETE /request
        # through another gateway, is not recorded now.
        stored = await self._records.all()
        raw, records = stored.records, self._parsed(stored)
        running_here = {job.id for job in self._unfinished}
        stale = [job for job in self._ended.values() if not job.record_current]
        for job in stale:
            if cleared(job.ended_wall, self._cleared_before):
                self._forget_ended(job)
        stale = [job for job in stale if job.id in self._jobs]
        for job in [*self._unfinished, *stale]:
            if await self._save_or_warn(job, stopped=job.done) and job.done:
                self._forget_ended(job)  # the store has it now
        now = self._wall_clock()
        # After the store was away (a paused cluster, say), nobody could renew a lease: give
        # their gateways a lease's time to do so before taking any job for lost.
        judge = self._records.answering_for() >= self._settings.job_lease
        for job_id, record in list(records.items()):
            lease = record.get("lease_until")
            if not judge or lease is None or lease >= now or job_id in running_here:
                continue
            ended = abandoned(record, now)
            # Only if unchanged: of two gateways ending it, one does; a renewal wins.
            if await self._records.update(
                job_id, json.dumps(ended, separators=(",", ":")), previous=raw[job_id]
            ):
                log.warning("job %s: %s", job_id, ended["job"]["failed"][-1]["outs"])
                records[job_id] = ended
        await self._records.remove(self._evicted(records, now))

    def _forget_ended(self, job: Job) -> None:
        if self._ended.pop(job.id, None) is not None:
            self._ended_bytes -= job.output_bytes
        self._jobs.pop(job.id, None)

    def _unrecorded(self) -> dict[str, dict[str, Any]]:
        """This table's jobs as records would show them: those running, and those it could
        not record (while the store did not answer)."""
        return {
            job.id: {"job": job.to_json(), "submitted": job.submitted_at}
            for job in self._jobs.values()
            if not job.done
            or (not job.record_current and not cleared(job.ended_wall, self._cleared_before))
        }

    # -- answers for /request (every gateway's jobs with a shared store) ------------------------

    async def list_records(self, page: int | None = None) -> list[dict[str, Any]]:
        """Every job as the module showed it, oldest first (or the module's page of them):
        with a shared store, every gateway's (only this table's while the store does not
        answer)."""
        if self._records is None:
            return [job.to_json() for job in paginate(self.list_jobs(), page)]
        try:
            records = await self._live_records()
        except GatewayError:
            records = {}
        records.update(self._unrecorded())  # this table's own are the freshest
        ordered = sorted(records.values(), key=lambda r: (r["submitted"], r["job"]["id"]))
        return [r["job"] for r in paginate(ordered, page)]

    async def get_record(self, job_id: str) -> dict[str, Any] | None:
        """The job as it stands, or None when there is no such job (503 when only the
        store could tell and it does not answer)."""
        job = self.get(job_id)
        if self._records is None or (job is not None and not job.done):
            return job.to_json() if job is not None else None
        if job is not None:  # finished here, unrecorded: unless a DELETE /request dropped it
            try:
                self._parsed(await self._records.get(job_id))
            except GatewayError:
                return job.to_json()  # the store cannot tell
            if cleared(job.ended_wall, self._cleared_before):
                self._forget_ended(job)
                return None
            return job.to_json()
        record = self._parsed(await self._records.get(job_id)).get(job_id)
        # One record alone: only its TTL or the last clearing can drop it.
        if record is None or self._evicted({job_id: record}, self._wall_clock()):
            return None
        job_json: dict[str, Any] = record["job"]
        return job_json

    async def delete_record(self, job_id: str) -> dict[str, Any] | None:
        """Drop a job (a running one's later waves never start, whichever gateway runs it);
        the job as it stood, or None when there is no such job."""
        job = self.delete(job_id)
        if self._records is None:
            return job.to_json() if job is not None else None
        try:
            stored = await self.get_record(job_id)
            await self._records.remove([job_id])
        except GatewayError:
            if job is None:
                raise
            stored = None  # its record, if any, is removed by no one: it was never written
        return job.to_json() if job is not None else stored

    async def delete_finished_records(self) -> tuple[int, int]:
        """Drop every finished job; (dropped, left)."""
        dropped, left = self.delete_finished()
        if self._records is None:
            return dropped, left
        try:
            clearing = self._wall_clock()
            records = await self._live_records()  # read before the clearing hides them
            finished = [job_id for job_id, r in records.items() if record_is_finished(r)]
            # Other gateways may hold finished jobs they could not record yet: the clearing
            # drops those too, wherever they are.
            await self._records.clear_finished(clearing)
            await self._records.remove(finished)
        except GatewayError:
            return dropped, left
        return dropped + len(finished), len(records) - len(finished)

    def _job_ended(self, job: Job) -> None:
        job.mark_done(self._clock())
        self._ended[job.id] = job
        self._ended_bytes += job.output_bytes
        self._evict()

    def _evict(self) -> None:
        """Drop finished jobs, oldest first, past the TTL, the count or the output bytes."""
        s = self._settings
        now = self._clock()
        while self._ended:
            job_id, job = next(iter(self._ended.items()))
            assert job.ended_at is not None
            if (
                len(self._ended) <= s.job_max_finished
                and self._ended_bytes <= s.job_max_output_bytes
                and now - job.ended_at < s.job_ttl
            ):
                break
            del self._ended[job_id]
            self._ended_bytes -= job.output_bytes
            del self._jobs[job_id]

    # -- lifecycle ----------------------------------------------------------------------------

    def stop_accepting(self) -> None:
        """From now on `submit` answers 503; running jobs go on."""
        self._closed = True

    async def drain(self) -> None:
        """Wait until no job runs (new ones are refused first)."""
        self.stop_accepting()
        while self._unfinished:
            await next(iter(self._unfinished)).wait()


@asynccontextmanager
async def open_job_table(
    ceph: CephClient,
    settings: Settings,
    clock: Clock = time.monotonic,
    on_change: Callable[[], Awaitable[None]] | None = None,
    read_only: Callable[[Command], bool] | None = None,
    records: JobRecordStore | None = None,
    wall_clock: Clock = time.time,
    served_by_mgr: Callable[[Command], bool] | None = None,
    answers: CommandAnswers | None = None,
) -> AsyncIterator[JobTable]:
    """The table for the app's lifetime; on exit it takes no new jobs, lets the running ones
    finish for up to `job_shutdown_grace` seconds, then cancels the rest."""
    table = JobTable(
        ceph, settings, clock, on_change, read_only, records, wall_clock, served_by_mgr, answers
    )
    async with anyio.create_task_group() as tg:
        table._task_group = tg
        if records is not None:
            tg.start_soon(table.keep_records, name="job store upkeep")
        try:
            yield table
        finally:
            table.stop_accepting()
            with anyio.move_on_after(settings.job_shutdown_grace, shield=True):
                await table.drain()
            if table.running_count:
                log.warning(
                    "shutdown: cancelling %d jobs still running after %.0f s",
                    table.running_count,
                    settings.job_shutdown_grace,
                )
            tg.cancel_scope.cancel()
