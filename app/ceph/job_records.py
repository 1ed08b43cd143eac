"""Ceph calls of the shared job store (`--job-store rados`): job records in one RADOS object.

Every record is one omap entry (key: the job's id, value: its JSON) of the object
`RECORDS_OBJECT`, in the pool and namespace the settings name. One object's omap gives what
the job table needs from a store: one read lists every job in id order, a write of one
entry is atomic, and a write can be made conditional on the entry's current value (omap
compare), so that a gateway never brings back a job another one deleted, and two gateways
never both end a job whose gateway stopped. The pool is made when missing (one PG; its
application set, so that the cluster's health does not warn about it).

`DELETE /request` drops every finished job, including those a gateway ran while its store did
not answer and has not recorded yet: it writes the time of the clearing under
`CLEARED_KEY`, and every gateway takes a finished job that ended before it as deleted (it does
not record it, does not show it, and evicts its record should it have been written after).

The store needs the OSDs, the mon commands do not: with `pause` set (the API's own PATCH
/config/osd sets it), a full cluster or the pool's PG inactive, object operations wait. So
the store has a connection of its own whose librados op timeout is short
(`job_store_timeout`): an operation past it is dropped by librados itself (one merely
abandoned would still be sent once the OSDs resume, and could write an old record over a
newer one). The first operation that fails marks the store unavailable: later ones fail at
once (no thread waits on a paused cluster per request) until `probe` finds it answering
again. Meanwhile the job table runs its jobs without records (`app/jobs.py`).
"""

from __future__ import annotations

import errno
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import NamedTuple, TypeVar

import anyio

from app.ceph.client import CephClient
from app.errors import CephError, GatewayError, ServiceUnavailable
from app.settings import Settings

log = logging.getLogger(__name__)

T = TypeVar("T")

RECORDS_OBJECT = "cephgw.jobs"
APPLICATION = "cephgw"
# Not a job id (those are UUIDs): the wall-clock time of the last DELETE /request.
CLEARED_KEY = "~finished-cleared-at"


class StoredRecords(NamedTuple):
    """What a read of the store found."""

    records: dict[str, str]  # job id -> record (JSON)
    # Finished jobs that ended before this (wall-clock seconds) were deleted; None: never.
    cleared_before: float | None


def _stored(found: dict[str, str]) -> StoredRecords:
    marker = found.pop(CLEARED_KEY, None)
    try:
        cleared_before = float(marker) if marker is not None else None
    except ValueError:
        log.warning("job store: %s is not a time (%r); ignored", CLEARED_KEY, marker)
        cleared_before = None
    return StoredRecords(found, cleared_before)


class JobRecordStore:
    """The job records of every gateway of a cluster (opaque JSON strings, keyed by job id)."""

    def __init__(self, ceph: CephClient, pool: str, namespace: str) -> None:
        """`ceph`: the store's own connection, its op timeout the store's (see above)."""
        self._ceph = ceph
        self.pool = pool
        self.namespace = namespace
        self._pool_checked = False
        self._checking = anyio.Lock()
        # Since when (monotonic seconds) the store has not answered; None while it does.
        self.unavailable_since: float | None = None
        self._unavailable_reason = ""
        # Since when it answers (made, or back from being unavailable); None before that.
        self._answering_since: float | None = None

    @property
    def available(self) -> bool:
        return self.unavailable_since is None

    def answering_for(self) -> float:
        """Seconds the store has answered without a failure in between (0 before it did)."""
        if self._answering_since is None or self.unavailable_since is not None:
            return 0.0
        return time.monotonic() - self._answering_since

    # -- the operations -------------------------------------------------------------------

    async def put(self, job_id: str, record: str) -> None:
        """Write a new record."""
        await self._call(lambda: self._set({job_id: record}))

    async def update(self, job_id: str, record: str, *, previous: str | None = None) -> bool:
        """Replace a record that still exists (and, with `previous`, still holds that value);
        False when it does not: another gateway deleted or changed it."""
        try:
            await self._call(lambda: self._set({job_id: record}, unchanged={job_id: previous}))
        except CephError as exc:
            if exc.errno == errno.ECANCELED:
                return False
            raise
        return True

    async def get(self, job_id: str) -> StoredRecords:
        """The job's record (if any), and the last clearing, in one read."""
        return _stored(await self._call(lambda: self._get([job_id, CLEARED_KEY])))

    async def all(self) -> StoredRecords:
        """Every record, by job id, and the last clearing."""
        return _stored(await self._call(lambda: self._get(None)))

    async def clear_finished(self, before: float) -> None:
        """Mark every job finished before `before` (wall-clock seconds) as deleted."""
        await self._call(lambda: self._set({CLEARED_KEY: repr(before)}))

    async def remove(self, job_ids: Sequence[str]) -> None:
        if job_ids:
            await self._call(
                lambda: self._ceph.aomap_remove(
                    self.pool, self.namespace, RECORDS_OBJECT, list(job_ids)
                )
            )

    async def probe(self) -> bool:
        """Whether the store answers (one key read); an unavailable store that answers is
        available again."""
        was_unavailable = self.unavailable_since
        self.unavailable_since = None
        try:
            await self._call(lambda: self._get([CLEARED_KEY]))
        except GatewayError:
            self.unavailable_since = was_unavailable or self.unavailable_since
            return False
        if was_unavailable is not None:
            log.info("job store answers again after %.0f s", time.monotonic() - was_unavailable)
        return True

    # -- underneath ---------------------------------------------------------------------------

    async def _set(
        self, values: dict[str, str], unchanged: dict[str, str | None] | None = None
    ) -> None:
        await self._ceph.aomap_set(
            self.pool, self.namespace, RECORDS_OBJECT, values, unchanged=unchanged
        )

    async def _get(self, keys: list[str] | None) -> dict[str, str]:
        return await self._ceph.aomap_get(self.pool, self.namespace, RECORDS_OBJECT, keys)

    async def _call(self, operation: Callable[[], Awaitable[T]]) -> T:
        if self.unavailable_since is not None:
            away = time.monotonic() - self.unavailable_since
            raise ServiceUnavailable(
                f"the job store has not answered for {away:.0f} s ({self._unavailable_reason})"
            )
        try:
            await self._ensure_pool()
            result = await operation()
        except CephError as exc:
            if exc.errno != errno.ECANCELED:  # a refused condition is an answer
                self._mark_unavailable(exc.message)
                if exc.errno == errno.ENOENT:  # the pool was removed: made again on probe
                    self._pool_checked = False
            raise
        except ServiceUnavailable as exc:  # not connected
            self._mark_unavailable(exc.message)
            raise
        if self._answering_since is None:
            self._answering_since = time.monotonic()
        return result

    def _mark_unavailable(self, reason: str) -> None:
        self._answering_since = None
        if self.unavailable_since is None:
            self.unavailable_since = time.monotonic()
            self._unavailable_reason = reason
            log.warning(
                "job store (pool %s) unavailable: %s; jobs run unrecorded until it answers",
                self.pool,
                reason,
            )

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


def store_settings(settings: Settings) -> Settings:
    """The settings of the store's own connection: the gateway's, with the store's timeout
    as librados' op timeout."""
    return settings.model_copy(update={"ceph_timeout": settings.job_store_timeout})


def store_connection(settings: Settings) -> CephClient:
    """The store's own connection, not yet connected."""
    return CephClient(store_settings(settings))
