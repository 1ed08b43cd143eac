"""Ceph calls of the shared job store (`--job-store rados`): job records in one RADOS object.

Every record is one omap entry (key: the job's id, value: its JSON) of the object
`RECORDS_OBJECT`, in the pool and namespace the settings name. One object's omap gives what
the job table needs from a store: one read lists every job in id order, a write of one
entry is atomic, and a write can be made conditional on the entry's current value (omap
compare), so that a gateway never brings back a job another one deleted, and two gateways
never both end a job whose gateway stopped. The pool is made when missing (one PG; its
application set, so that the cluster's health does not warn about it).
"""

from __future__ import annotations

import errno
from collections.abc import Sequence

import anyio

from app.ceph.client import CephClient
from app.errors import CephError

RECORDS_OBJECT = "cephgw.jobs"
APPLICATION = "cephgw"


class JobRecordStore:
    """The job records of every gateway of a cluster (opaque JSON strings, keyed by job id)."""

    def __init__(self, ceph: CephClient, pool: str, namespace: str) -> None:
        self._ceph = ceph
        self.pool = pool
        self.namespace = namespace
        self._pool_checked = False
        self._checking = anyio.Lock()

    async def _ensure_pool(self) -> None:
        """Make the pool when it is missing (the first gateway of a cluster does), once."""
        if self._pool_checked:
            return
        async with self._checking:
            if not self._pool_checked:
                await self._make_pool()
                self._pool_checked = True

    async def _make_pool(self) -> None:
        pools = await self._ceph.mon_json({"prefix": "osd pool ls"})
        if self.pool in pools:
            return
        try:
            await self._ceph.amon_command(
                {"prefix": "osd pool create", "pool": self.pool, "pg_num": 1, "pgp_num": 1}
            )
        except CephError as exc:
            if exc.errno != errno.EEXIST:  # another gateway made it meanwhile
                raise
        await self._ceph.amon_command(
            {"prefix": "osd pool application enable", "pool": self.pool, "app": APPLICATION}
        )

    async def put(self, job_id: str, record: str) -> None:
        """Write a new record."""
        await self._ensure_pool()
        await self._ceph.aomap_set(self.pool, self.namespace, RECORDS_OBJECT, {job_id: record})

    async def update(self, job_id: str, record: str, *, previous: str | None = None) -> bool:
        """Replace a record that still exists (and, with `previous`, still holds that value);
        False when it does not: another gateway deleted or changed it."""
        await self._ensure_pool()
        try:
            await self._ceph.aomap_set(
                self.pool,
                self.namespace,
                RECORDS_OBJECT,
                {job_id: record},
                unchanged={job_id: previous},
            )
        except CephError as exc:
            if exc.errno == errno.ECANCELED:
                return False
            raise
        return True

    async def get(self, job_id: str) -> str | None:
        await self._ensure_pool()
        found = await self._ceph.aomap_get(self.pool, self.namespace, RECORDS_OBJECT, [job_id])
        return found.get(job_id)

    async def all(self) -> dict[str, str]:
        """Every record, by job id."""
        await self._ensure_pool()
        return await self._ceph.aomap_get(self.pool, self.namespace, RECORDS_OBJECT)

    async def remove(self, job_ids: Sequence[str]) -> None:
        if job_ids:
            await self._ensure_pool()
            await self._ceph.aomap_remove(self.pool, self.namespace, RECORDS_OBJECT, list(job_ids))
