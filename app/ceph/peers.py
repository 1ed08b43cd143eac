"""Ceph calls by which the gateways sharing a job store tell each other of their writes.

Behind a balancer, a client's write and its next read reach different gateways (or workers):
each keeps its own cluster-state cache (app/ceph/state.py), which a write through another
gateway does not invalidate, so a read could answer up to `cache_max_age` from before the
write (the module's QA flow creates a pool, then expects it last in GET /pool). So every
gateway of a rados job store watches one object, `NOTICES_OBJECT`, next to the job records,
and a gateway that ran a write notifies it before the job ends: each watcher invalidates its
cache before it acknowledges, and `notify` returns once all did. A client that reads after
its write's answer sees the write, whichever gateway it reaches.

Bounded: a gateway that does not acknowledge within `NOTIFY_TIMEOUT_MS` (killed, or its
watch lost) delays a write by that much at most and serves answers at most `cache_max_age`
old, as without notices; the OSD drops the watch of a killed gateway `WATCH_TIMEOUT` seconds
after its last ping (15 s). A gateway whose watch was lost invalidates its cache once watching
again (it may have missed notices meanwhile).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from typing import Any

import anyio
import anyio.from_thread
import anyio.lowlevel

from app.ceph.client import CephClient
from app.errors import GatewayError

log = logging.getLogger(__name__)

NOTICES_OBJECT = "cephgw.changes"
# Seconds without a ping after which the OSD drops a watch: a killed gateway delays the
# others' writes (by NOTIFY_TIMEOUT_MS each) for this long at most. librados pings on its
# tick, every 5 s (objecter_tick_interval): a shorter timeout drops live watches.
WATCH_TIMEOUT = 15
# The OSD counts a notify's timeout in whole seconds: 1 s is its least (and the cache's
# default age, the staleness a missed notice costs anyway).
NOTIFY_TIMEOUT_MS = 1000
# What a notify may take past its own timeout before the write stops waiting for it.
NOTIFY_MARGIN = 0.5
# What stopping may wait for the unwatch.
UNWATCH_LIMIT = 2.0
# How often a lost watch is made again (and a missing pool looked for).
REWATCH_INTERVAL = 1.0


class PeerNotices:
    """The watch of one gateway (`keep_watching`, for its lifetime) and its notices (`tell`)."""

    def __init__(self, ceph: CephClient, pool: str, namespace: str) -> None:
        self._ceph = ceph
        self.pool = pool
        self.namespace = namespace
        self._watch: Any = None  # rados.Watch, while it holds
        self._lost = False  # set by librados (on_error) when the watch broke

    @property
    def watching(self) -> bool:
        return self._watch is not None and not self._lost

    async def tell(self) -> None:
        """Have every watching gateway invalidate its cache; returns once all did, or after
        NOTIFY_TIMEOUT_MS (a peer that did not acknowledge is only logged)."""
        if not self.watching:  # the OSDs do not answer: the notice would wait in vain
            return
        # The notify is an OSD operation: with `pause` set (PATCH /config/osd) it would wait
        # for librados' op timeout; the write's answer does not (its thread is left to end).
        with anyio.move_on_after(NOTIFY_TIMEOUT_MS / 1000 + NOTIFY_MARGIN) as waited:
            try:
                await self._ceph.anotify(
                    self.pool, self.namespace, NOTICES_OBJECT, NOTIFY_TIMEOUT_MS
                )
            except GatewayError as exc:
                log.info("not every gateway acknowledged the write's notice: %s", exc.message)
        if waited.cancelled_caught:
            log.info("the write's notice was not answered: the OSDs do not answer")

    async def keep_watching(self, on_notice: Callable[[], None]) -> None:
        """Watch NOTICES_OBJECT for the app's lifetime: `on_notice` runs on this event loop
        for each notice of another gateway, and once after a lost watch is made again."""
        token = anyio.lowlevel.current_token()
        own_id: int | None = None

        def noticed(notifier_id: int) -> None:  # in a librados thread
            if notifier_id == own_id:  # this gateway's own write: invalidated already
                return
            # Blocking until it ran: the notifier is acknowledged after the invalidation. A
            # RuntimeError: the event loop has stopped (the gateway is stopping).
            with contextlib.suppress(RuntimeError):
                anyio.from_thread.run_sync(on_notice, token=token)

        def lost(code: int) -> None:  # in a librados thread
            log.warning("the watch of %s was lost (errno %d): watching again", NOTICES_OBJECT, code)
            self._lost = True

        try:
            while True:
                if not self.watching:
                    try:
                        if own_id is None:
                            own_id = await self._ceph.ainstance_id()
                        await self._rewatch(noticed, lost)
                    except GatewayError as exc:
                        log.debug("cannot watch %s yet: %s", NOTICES_OBJECT, exc.message)
                    else:
                        on_notice()  # notices may have been missed meanwhile
                await anyio.sleep(REWATCH_INTERVAL)
        finally:
            if self._watch is not None:
                # Bounded: with the OSDs paused the unwatch would wait for the op timeout; the
                # OSD then drops the watch after WATCH_TIMEOUT. A GatewayError (no thread of
                # the limiter free) leaves it to that timeout as well: the app is stopping.
                with (
                    anyio.CancelScope(shield=True),
                    anyio.move_on_after(UNWATCH_LIMIT),
                    contextlib.suppress(GatewayError),
                ):
                    await self._ceph.aunwatch(self._watch)
                self._watch = None

    async def _rewatch(self, noticed: Callable[[int], None], lost: Callable[[int], None]) -> None:
        if self._watch is not None:
            old, self._watch = self._watch, None
            await self._ceph.aunwatch(old)
        self._lost = False
        self._watch = await self._ceph.awatch(
            self.pool, self.namespace, NOTICES_OBJECT, noticed, lost, WATCH_TIMEOUT
        )
