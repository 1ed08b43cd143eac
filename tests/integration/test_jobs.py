"""The job table with a real Ceph client: waves, bounded memory (count, TTL, output bytes),
running jobs kept, deletion of a running job, and shutdown with its grace period; and tables
sharing the rados job store as gateways of one cluster do."""

from __future__ import annotations

import errno
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import anyio
import pytest

from app.ceph.client import CephClient, open_client
from app.ceph.job_records import JobRecordStore, store_settings
from app.errors import ServiceUnavailable
from app.jobs import Job, JobTable, job_record, open_job_table
from app.settings import Settings
from cli.dev_cluster import DevCluster
from tests.support.cluster import ceph_cli, ceph_cli_json, config_key_exists, fresh_namespace
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


# -- the shared store (job_store=rados): every gateway's jobs, from any of them ----------------


@dataclass
class SharedTables:
    """Tables as gateways of one cluster have them, each with its store's own connection."""

    tables: list[JobTable]
    store_connections: list[CephClient]


@asynccontextmanager
async def shared_tables(
    settings: Settings,
    namespace: str,
    count: int = 2,
    store_away: frozenset[int] = frozenset(),
    **update: Any,
) -> AsyncIterator[SharedTables]:
    """`count` tables as `count` gateways have them: each its own connections, one store (a
    namespace of its own per test). The tables numbered in `store_away` find their store
    connection not connected (their store does not answer) until the test connects it."""
    s = settings.model_copy(
        update={"job_store": "rados", "job_store_namespace": namespace, **update}
    )
    async with AsyncExitStack() as stack:
        shared = SharedTables([], [])
        for n in range(count):
            ceph = await stack.enter_async_context(open_client(s))
            if n in store_away:
                store_ceph = CephClient(store_settings(s))
                stack.push_async_callback(store_ceph.aclose)
            else:
                store_ceph = await stack.enter_async_context(open_client(store_settings(s)))
            store = JobRecordStore(store_ceph, s.job_store_pool, namespace)
            named = s.model_copy(update={"gateway_name": f"gw-{n}"})
            shared.tables.append(
                await stack.enter_async_context(open_job_table(ceph, named, records=store))
            )
            shared.store_connections.append(store_ceph)
        yield shared


async def stored_records(settings: Settings, namespace: str) -> dict[str, Any]:
    """The store's records as written, read through a connection of the test's own."""
    async with open_client(store_settings(settings)) as ceph:
        stored = await JobRecordStore(ceph, settings.job_store_pool, namespace).all()
    return {job_id: json.loads(value) for job_id, value in stored.records.items()}


def test_a_job_is_known_to_every_gateway_as_it_runs_and_once_it_ended(settings: Settings) -> None:
    namespace = fresh_namespace("jobs-known")

    async def main() -> None:
        async with shared_tables(settings, namespace) as shared:
            a, b = shared.tables
            job = await a.start([[slow()], [OSD_STAT]], "ops")
            seen = await b.get_record(job.id)
            assert seen is not None
            assert (seen["id"], seen["state"]) == (job.id, "pending")
            assert [r["command"] for r in seen["running"]] == [job.running[0].command]
            assert seen["waiting"] == [["osd stat format=json"]]
            assert await a.wait(job)
            # The gateway that ran it wrote its end before the wait returned: the other
            # gateway sees the same job at once.
            assert await b.get_record(job.id) == job.to_json()
            assert [j["id"] for j in await b.list_records()] == [job.id]
            assert json.loads(job.finished[1].outb)["num_osds"] == 3
        record = (await stored_records(settings, namespace))[job.id]
        assert (record["gateway"], record["key"], record["lease_until"]) == ("gw-0", "ops", None)
        assert record["ended"] >= record["submitted"] > 0

    anyio.run(main)


def test_a_running_job_deleted_through_another_gateway_runs_no_later_wave(
    settings: Settings, cluster: DevCluster
) -> None:
    key = "h-jobs-test/deleted-through-another-gateway"
    namespace = fresh_namespace("jobs-deleted")

    async def main() -> None:
        async with shared_tables(settings, namespace) as shared:
            a, b = shared.tables
            job = await a.start([[slow()], [{"prefix": "config-key set", "key": key, "val": "1"}]])
            deleted = await b.delete_record(job.id)
            assert deleted is not None
            assert (deleted["id"], deleted["state"]) == (job.id, "pending")
            await job.wait()
            assert len(job.finished) == 1  # the wave already sent ran; the next never started
            assert a.get(job.id) is None
            # Its gateway's later writes did not bring the record back.
            assert await b.get_record(job.id) is None
            assert await a.get_record(job.id) is None
            assert await b.delete_record(job.id) is None
        assert job.id not in await stored_records(settings, namespace)

    anyio.run(main)
    assert not config_key_exists(cluster, key)


def test_deleting_the_finished_jobs_through_one_gateway_drops_every_gateway_s(
    settings: Settings,
) -> None:
    namespace = fresh_namespace("jobs-finished")

    async def main() -> None:
        async with shared_tables(settings, namespace) as shared:
            a, b = shared.tables
            done = [await run_started(t, [[OSD_STAT]]) for t in (a, b, a)]
            running = await b.start([[slow()], [slow()]])
            assert await a.delete_finished_records() == (3, 1)
            assert [j["id"] for j in await b.list_records()] == [running.id]
            assert [await b.get_record(j.id) for j in done] == [None, None, None]
            await running.wait()

    anyio.run(main)


def test_deleting_the_finished_jobs_drops_those_a_gateway_could_not_record_yet(
    settings: Settings,
) -> None:
    """A gateway whose store did not answer holds finished jobs no other gateway can see: a
    DELETE /request through another gateway drops them too, once that gateway's store
    answers again (they are not recorded then, nor shown meanwhile)."""
    namespace = fresh_namespace("jobs-cleared")

    async def main() -> None:
        async with shared_tables(settings, namespace, store_away=frozenset({0})) as shared:
            a, b = shared.tables
            unrecorded = [await run_started(a, [[OSD_STAT]]) for _ in range(2)]
            assert [j["id"] for j in await a.list_records()] == [j.id for j in unrecorded]
            assert await b.list_records() == []  # b cannot know them
            assert await b.delete_finished_records() == (0, 0)
            later = await run_started(a, [[OSD_STAT]])  # ended after the clearing: kept
            await shared.store_connections[0].aconnect()
            await a.prepare_records()  # its store answers again (the upkeep probes it too)
            # Before its upkeep ran, a's own answers already leave the cleared jobs out...
            assert await a.get_record(unrecorded[0].id) is None
            assert [j["id"] for j in await a.list_records()] == [later.id]
            # ... and its upkeep records only the job that ended after the clearing.
            await a.tend_records()
            assert [j["id"] for j in await b.list_records()] == [later.id]
            assert await b.get_record(unrecorded[1].id) is None
        assert set(await stored_records(settings, namespace)) == {later.id}

    anyio.run(main)


def test_a_job_whose_gateway_stopped_fails_once_its_lease_is_past(settings: Settings) -> None:
    namespace = fresh_namespace("jobs-lease")

    async def main() -> None:
        async with shared_tables(settings, namespace, job_lease=1.0) as shared:
            a, b = shared.tables
            # Records as a gateway that died mid-job left them: leases never renewed.
            now = time.time()
            lost = Job("lost-job", [[OSD_STAT], [OSD_STAT]], "ops", now - 60)
            lost.start_next_wave()
            async with open_client(store_settings(settings)) as ceph:
                store = JobRecordStore(ceph, settings.job_store_pool, namespace)
                await store.put(
                    lost.id, job_record(lost, gateway="gw-dead", now=now - 31, lease=30)
                )
                alive = Job("alive-job", [[OSD_STAT]], "ops", now)
                alive.start_next_wave()
                await store.put(alive.id, job_record(alive, gateway="gw-busy", now=now, lease=30))
            mine = await a.start([[slow()], [slow()]])
            # Nothing is judged before the store answered a lease's time (its gateways must
            # have had the time to renew).
            await b.tend_records()
            assert (await a.get_record(lost.id) or {}).get("state") == "pending"
            await anyio.sleep(1.1)
            await a.tend_records()  # renews its own
            await b.tend_records()
            ended = await a.get_record(lost.id)
            assert ended is not None
            assert (ended["state"], ended["running"], ended["waiting"]) == ("failed", [], [])
            assert [f["outs"] for f in ended["failed"]] == [
                "gateway gw-dead stopped while this job ran; it may or may not have run",
                "gateway gw-dead stopped while this job ran; not run",
            ]
            # A lease not yet past, and a job its live gateway renews, are left alone.
            assert (await a.get_record("alive-job") or {}).get("state") == "pending"
            await a.tend_records()
            assert (await b.get_record(mine.id) or {}).get("state") == "pending"
            await mine.wait()

    anyio.run(main)


def test_the_shared_store_keeps_the_table_s_limits_over_every_gateway(
    settings: Settings,
) -> None:
    namespace = fresh_namespace("jobs-bounded")

    async def main() -> None:
        async with shared_tables(settings, namespace, job_max_finished=5) as shared:
            a, b = shared.tables
            done = [await run_started((a, b)[n % 2], [[OSD_STAT]]) for n in range(12)]
            # Past the count, what the store still holds is not shown...
            assert [j["id"] for j in await b.list_records()] == [j.id for j in done[-5:]]
            # ... and the upkeep of either gateway removes it.
            await a.tend_records()
            assert set(await stored_records(settings, namespace)) == {j.id for j in done[-5:]}

    anyio.run(main)


async def run_started(jobs: JobTable, waves: Any) -> Job:
    job = await jobs.start(waves)
    assert await jobs.wait(job)
    return job


def test_jobs_run_unrecorded_while_the_store_waits_on_paused_osds(
    settings: Settings, cluster: DevCluster
) -> None:
    """`pause` stops the OSDs' client I/O, so the store's; the mon still answers: a job (the
    one that unsets `pause`, above all) runs, unrecorded, and is recorded once it can be."""
    namespace = fresh_namespace("jobs-paused")

    async def main() -> None:
        async with shared_tables(settings, namespace, job_store_timeout=1.0) as shared:
            a, b = shared.tables
            before = await run_started(a, [[OSD_STAT]])
            ceph_cli(cluster, "osd", "set", "pause")
            try:
                # As a gateway's store connection knows it once it next needs the OSDs.
                await shared.store_connections[0].await_for_latest_osdmap()
                started = time.monotonic()
                paused = await run_started(a, [[OSD_STAT]])
                # One store timeout, then no more waiting on it.
                unpause = await run_started(a, [[{"prefix": "osd unset", "key": "pause"}]])
                assert time.monotonic() - started < 5.0
            finally:
                ceph_cli(cluster, "osd", "unset", "pause")
            assert (paused.state, unpause.state) == ("success", "success")
            # Until its store answers again, this gateway lists what it ran unrecorded.
            assert [j["id"] for j in await a.list_records()] == [paused.id, unpause.id]
            assert await a.get_record(paused.id) == paused.to_json()
            listed = [before.id, paused.id, unpause.id]

            # Once the store answers again, the upkeep records them for every gateway.
            async def recorded_on_b() -> list[str]:
                await a.tend_records()
                return [j["id"] for j in await b.list_records()]

            deadline = time.monotonic() + 60
            while (seen := await recorded_on_b()) != listed:
                assert time.monotonic() < deadline, seen
                await anyio.sleep(1)
            assert await b.get_record(unpause.id) == unpause.to_json()

    anyio.run(main)
    assert "pause" not in ceph_cli_json(cluster, "osd", "dump")["flags"]
