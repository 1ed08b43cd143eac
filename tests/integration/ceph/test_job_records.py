"""The rados job store's calls on a real cluster: its pool made once, records written,
replaced only while they exist (or still hold what was read), read page by page, removed;
the time of the last clearing kept beside them."""

from __future__ import annotations

import json

import anyio
import pytest

from app.ceph.client import open_client
from app.ceph.job_records import APPLICATION, JobRecordStore, StoredRecords, store_settings
from app.settings import Settings
from cli.dev_cluster import DevCluster
from tests.support import ask_until
from tests.support.cluster import ceph_cli_json, fresh_namespace

pytestmark = pytest.mark.integration

POOL = "cephgw-test-records"


def test_records_are_written_replaced_read_and_removed(
    settings: Settings, cluster: DevCluster
) -> None:
    async def main() -> None:
        async with open_client(store_settings(settings)) as ceph:
            store = JobRecordStore(ceph, POOL, fresh_namespace("records"))
            # No object yet: nothing, not an error.
            assert await store.get("a") == StoredRecords({}, None)
            assert await store.all() == StoredRecords({}, None)
            await store.put("a", '{"n":1}')
            await store.put("b", '{"n":2}')
            assert await store.get("a") == StoredRecords({"a": '{"n":1}'}, None)
            assert await store.update("a", '{"n":3}')
            # Conditional on the value read: refused once another writer changed it.
            assert not await store.update("a", '{"n":4}', previous='{"n":1}')
            assert await store.update("a", '{"n":5}', previous='{"n":3}')
            await store.remove(["b", "missing"])
            # Gone: an update must not bring it back.
            assert not await store.update("b", '{"n":6}')
            assert await store.all() == StoredRecords({"a": '{"n":5}'}, None)
            # The clearing is read with every read, never as a record; the last one counts.
            await store.clear_finished(1000.5)
            await store.clear_finished(2000.25)
            assert await store.all() == StoredRecords({"a": '{"n":5}'}, 2000.25)
            assert await store.get("a") == StoredRecords({"a": '{"n":5}'}, 2000.25)
            assert await store.get("b") == StoredRecords({}, 2000.25)

    anyio.run(main)
    # The pool carries the gateway's application, so the cluster's health does not warn.
    detail = ceph_cli_json(cluster, "osd", "pool", "ls", "detail")
    [pool] = [p for p in detail if p["pool_name"] == POOL]
    assert APPLICATION in pool["application_metadata"]
    # Other tests' pools may lack one (the module's POST /pool sets none): this one is not
    # among them.
    ask_until(
        lambda: ceph_cli_json(cluster, "health", "detail"),
        lambda health: (
            f"'{POOL}'" not in json.dumps(health.get("checks", {}).get("POOL_APP_NOT_ENABLED", {}))
        ),
        f"no POOL_APP_NOT_ENABLED warning for {POOL}",
    )


def test_more_records_than_one_read_returns_are_all_listed(settings: Settings) -> None:
    async def main() -> None:
        async with open_client(store_settings(settings)) as ceph:
            namespace = fresh_namespace("records-pages")
            store = JobRecordStore(ceph, POOL, namespace)
            for start in range(0, 2500, 500):
                await ceph.aomap_set(
                    POOL,
                    namespace,
                    "cephgw.jobs",
                    {f"job-{i:05d}": str(i) for i in range(start, start + 500)},
                )
            records = (await store.all()).records
            assert len(records) == 2500
            assert records["job-02499"] == "2499"
            assert (await store.get("job-01234")).records == {"job-01234": "1234"}

    anyio.run(main)
