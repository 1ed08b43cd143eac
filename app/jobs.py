"""The job table: every write runs as a job of waves of mon commands, as in the restful module.

A job is a list of waves; the commands of a wave run at once (each a librados mon command on
the Ceph client's thread limiter), waves one after another, and a failed command does not
stop the later waves (the module's behaviour). The table keeps unfinished jobs until they
finish and finished ones for `job_ttl` seconds, at most `job_max_finished` of them and
`job_max_output_bytes` of output: the oldest finished go first; unfinished ones never.

It knows no HTTP: a write route runs its waves through `app.deps.JobRunnerDep`, which submits
them here, waits with ?wait=1 and answers 200 or 202.
"""

from __future__ import annotations

import errno as errno_codes
import logging
import time
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

import anyio
from anyio.abc import TaskGroup

from app.ceph.client import CephClient
from app.ceph.commands import humanize_command
from app.errors import GatewayError, ServiceUnavailable
from app.settings import Settings

log = logging.getLogger(__name__)

Command = Mapping[str, Any]
Waves = Sequence[Sequence[Command]]
Clock = Callable[[], float]

PENDING, SUCCESS, FAILED = "pending", "success", "failed"

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
        "cancelled",
        "ended_at",
        "failed",
        "finished",
        "id",
        "output_bytes",
        "running",
        "waiting",
    )

    def __init__(self, job_id: str, waves: Iterable[Iterable[Command]]) -> None:
        self.id = job_id
        # Empty waves are dropped, as the module did; the commands are copied so that a
        # caller's later change cannot alter a job.
        self.waiting: list[list[dict[str, Any]]] = [
            [dict(c) for c in wave] for wave in (list(w) for w in waves) if wave
        ]
        self.running: list[CommandRun] = []
        self.finished: list[CommandRun] = []
        self.failed: list[CommandRun] = []
        self.cancelled = False
        self.ended_at: float | None = None
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


# -- the table ---------------------------------------------------------------------------------


class JobTable:
    """Every job of the process, in submit order; opened by `open_job_table` (the lifespan)."""

    def __init__(
        self,
        ceph: CephClient,
        settings: Settings,
        clock: Clock = time.monotonic,
        on_change: Callable[[], None] | None = None,
        read_only: Callable[[Command], bool] | None = None,
    ):
        self._ceph = ceph
        self._settings = settings
        self._clock = clock
        # Told after every command a job ran that may have changed the cluster: what the
        # gateway knows of it may be old.
        self._on_change = on_change
        # Whether a command only reads (the cluster's command table says): identical ones in
        # flight then share one librados call, as reads do, and change nothing.
        self._read_only = read_only or (lambda _command: False)
        self._jobs: dict[str, Job] = {}  # submit order
        self._ended: OrderedDict[str, Job] = OrderedDict()  # finished jobs, oldest first
        self._ended_bytes = 0
        self._unfinished: set[Job] = set()  # running, including deleted ones
        self._commands = anyio.Semaphore(settings.job_command_concurrency)
        self._task_group: TaskGroup | None = None
        self._closed = False

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

    def submit(self, waves: Iterable[Iterable[Command]]) -> Job:
        """Start a job: its first wave is running when this returns (as with the module).

        Validate and check every command before: nothing here refuses a single command.
        """
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
        job = Job(job_id, waves)
        if job.is_finished:  # nothing to run
            self._jobs[job.id] = job
            self._job_ended(job)
            return job
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
        self._task_group.start_soon(self._run, job, first, name=f"job {job.id}")
        return job

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
            if job.id in self._jobs:
                self._job_ended(job)
            else:
                job.mark_done(self._clock())

    async def _run_command(self, job: Job, run: CommandRun, command: dict[str, Any]) -> None:
        read_only = self._read_only(command)
        async with self._commands:
            try:
                ret, outb, outs = await self._ceph.amon_command_result(command, shared=read_only)
            except GatewayError as exc:  # not connected, or no answer in time
                ret, outb, outs = -getattr(exc, "errno", errno_codes.EIO), "", exc.message
            except Exception as exc:  # never leave a job hanging on a surprise
                log.exception("job %s: command %r raised", job.id, run.command)
                ret, outb, outs = -errno_codes.EIO, "", f"cephgw failed to run the command: {exc}"
        job.complete(run, ret, outb, outs)
        if self._on_change is not None and not read_only:
            self._on_change()

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
    on_change: Callable[[], None] | None = None,
    read_only: Callable[[Command], bool] | None = None,
) -> AsyncIterator[JobTable]:
    """The table for the app's lifetime; on exit it takes no new jobs, lets the running ones
    finish for up to `job_shutdown_grace` seconds, then cancels the rest."""
    table = JobTable(ceph, settings, clock, on_change, read_only)
    async with anyio.create_task_group() as tg:
        table._task_group = tg
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
