"""The job table with a real Ceph client: waves, bounded memory (count, TTL, output bytes),
running jobs kept, deletion of a running job, and shutdown with its grace period."""

from __future__ import annotations

import errno
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio
import pytest

from app.ceph.client import CephClient, open_client
from app.errors import ServiceUnavailable
from app.jobs import Job, JobTable, open_job_table
from app.settings import Settings
from cli.dev_cluster import DevCluster
from tests.support.cluster import config_key_exists
from tests.support.jobs import OSD_STAT, FakeClock, slow

pytestmark = pytest.mark.integration


@asynccontextmanager
async def table(
    settings: Settings, clock: Callable[[], float] = time.monotonic, **update: Any
) -> AsyncIterator[JobTable]:
    s = settings.model_copy(update=update)
    async with open_client(s) as ceph, open_job_table(ceph, s, clock) as jobs:
        yield jobs


async def run(jobs: JobTable, waves: Any) -> Job:
    job = jobs.submit(waves)
    assert await jobs.wait(job)
    return job


def test_the_table_stays_bounded_over_many_jobs(settings: Settings) -> None:
    async def main() -> None:
        async with table(settings, job_max_finished=50) as jobs:
            peak = 0
            last: list[Job] = []
            for _ in range(20):
                last = [jobs.submit([[OSD_STAT]]) for _ in range(100)]
                peak = max(peak, len(jobs))
                for job in last:
                    await job.wait()
                assert jobs.finished_count <= 50
                assert len(jobs) <= 50 + jobs.running_count
            assert len(jobs) == 50
            kept = jobs.list_jobs()
            assert {j.id for j in kept} <= {j.id for j in last}
            assert all(j.state == "success" for j in kept)
            # Running jobs are never dropped: 100 ran at once past a bound of 50.
            assert peak >= 100

    anyio.run(main)


def test_finished_jobs_expire_after_the_ttl(settings: Settings) -> None:
    async def main() -> None:
        clock = FakeClock()
        async with table(settings, clock, job_ttl=60.0) as jobs:
            old = await run(jobs, [[OSD_STAT]])
            clock.now += 30
            new = await run(jobs, [[OSD_STAT]])
            assert [j.id for j in jobs.list_jobs()] == [old.id, new.id]
            clock.now += 30
            assert [j.id for j in jobs.list_jobs()] == [new.id]
            clock.now += 30
            assert jobs.list_jobs() == []

    anyio.run(main)


def test_finished_output_is_bounded_in_bytes(settings: Settings) -> None:
    async def main() -> None:
        async with table(settings, job_max_output_bytes=1000) as jobs:
            done = [await run(jobs, [[OSD_STAT]]) for _ in range(30)]
            size = done[0].output_bytes
            assert size > 50  # `osd stat`'s JSON
            assert jobs.finished_output_bytes <= 1000
            assert jobs.finished_count == 1000 // size
            assert [j.id for j in jobs.list_jobs()] == [j.id for j in done[-(1000 // size) :]]

    anyio.run(main)


def test_a_running_job_is_never_evicted(settings: Settings) -> None:
    async def main() -> None:
        clock = FakeClock()
        async with table(settings, clock, job_max_finished=0, job_ttl=0.0) as jobs:
            job = jobs.submit([[slow()], [slow()]])
            clock.now += 10_000
            await run(jobs, [[OSD_STAT]])  # finishes, and goes at once
            assert jobs.list_jobs() == [job]
            await job.wait()
            assert job.state == "success"
            assert jobs.list_jobs() == []

    anyio.run(main)


def test_commands_of_a_wave_run_at_once_and_waves_in_turn(settings: Settings) -> None:
    async def main() -> None:
        async with table(settings) as jobs:
            await run(jobs, [[slow()]])  # so that the next OSD map change waits ~1 s
            started = time.monotonic()
            in_turn = await run(jobs, [[slow()] for _ in range(5)])
            one_by_one = time.monotonic() - started
            started = time.monotonic()
            job = await run(jobs, [[slow() for _ in range(5)], [OSD_STAT]])
            at_once = time.monotonic() - started
            # Five waves wait for five proposals of the mon (~1 s each); one wave of five
            # shares one. Compared with each other, not with a clock: a busy machine slows both.
            assert len(in_turn.finished) == 5
            assert one_by_one > 4.0
            assert at_once < one_by_one / 2, (at_once, one_by_one)
            assert len(job.finished) == 6
            assert job.finished[-1].command == "osd stat format=json"

    anyio.run(main)


def test_deleting_a_running_job_stops_its_later_waves(
    settings: Settings, cluster: DevCluster
) -> None:
    key = "h-jobs-test/deleted-running-job"

    async def main() -> None:
        async with table(settings) as jobs:
            job = jobs.submit([[slow()], [{"prefix": "config-key set", "key": key, "val": "1"}]])
            assert jobs.delete(job.id) is job
            assert jobs.get(job.id) is None
            await job.wait()  # set once the running wave has ended
            assert len(job.finished) == 1
            assert job.waiting == [[{"prefix": "config-key set", "key": key, "val": "1"}]]
            assert jobs.running_count == 0

    anyio.run(main)
    assert not config_key_exists(cluster, key)


def test_shutdown_cancels_what_outlives_the_grace(settings: Settings) -> None:
    async def main() -> Job:
        async with table(settings, job_shutdown_grace=0.2) as jobs:
            await run(jobs, [[slow()]])
            job = jobs.submit([[slow()], [slow()], [slow()]])
            started = time.monotonic()
        assert time.monotonic() - started < 1.5
        with pytest.raises(ServiceUnavailable):
            jobs.submit([[OSD_STAT]])
        return job

    job = anyio.run(main)
    assert job.done
    assert job.running == []
    assert job.failed
    assert job.failed[-1].errno == errno.ECANCELED
    assert "shut down" in job.failed[-1].outs
    assert job.waiting  # the later waves never started


def test_a_job_without_a_cluster_is_refused_at_once(settings: Settings) -> None:
    """Its commands could only wait out their timeout: the client learns it before any job."""

    async def main() -> None:
        ceph = CephClient(settings)  # never connected
        async with open_job_table(ceph, settings) as jobs:
            with pytest.raises(ServiceUnavailable) as refused:
                jobs.submit([[OSD_STAT], [OSD_STAT]])
            assert refused.value.status_code == 503
            assert refused.value.headers == {"Retry-After": "2"}
            assert "has not answered" in refused.value.message
            assert jobs.list_jobs() == []
            # A job with nothing to run needs no cluster.
            assert jobs.submit([]).state == "success"

    anyio.run(main)
