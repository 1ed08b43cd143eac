"""The notices of the gateways sharing a job store, on a real cluster: a write's notice
returns once every other gateway ran its invalidation, never its own; a stopped gateway
unwatches, so that the next notice does not wait for it."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import anyio
import pytest

from app.ceph.client import CephClient, open_client
from app.ceph.job_records import store_settings
from app.ceph.peers import NOTIFY_TIMEOUT_MS, PeerNotices
from app.settings import Settings
from tests.support import TEST_POOL
from tests.support.cluster import fresh_namespace

pytestmark = pytest.mark.integration

# The invalidation takes this long: the notice must wait for it.
INVALIDATION = 0.3


class Gateway:
    """One gateway's side: its notices, and the times its invalidation ran."""

    def __init__(self, ceph: CephClient, namespace: str) -> None:
        self.notices = PeerNotices(ceph, TEST_POOL, namespace)
        self.invalidated: list[float] = []
        self.watching = anyio.Event()  # the first invalidation: once the watch began

    def invalidate(self) -> None:
        if not self.watching.is_set():
            self.watching.set()
            return
        time.sleep(INVALIDATION)  # on the event loop, as a slow invalidation would be
        self.invalidated.append(time.monotonic())


@asynccontextmanager
async def watching(settings: Settings, namespace: str) -> AsyncIterator[Gateway]:
    async with open_client(store_settings(settings)) as ceph, anyio.create_task_group() as tg:
        gateway = Gateway(ceph, namespace)
        tg.start_soon(gateway.notices.keep_watching, gateway.invalidate)
        with anyio.fail_after(30):
            await gateway.watching.wait()
        yield gateway
        tg.cancel_scope.cancel()


def test_a_notice_returns_once_every_other_gateway_invalidated(settings: Settings) -> None:
    async def main() -> None:
        namespace = fresh_namespace("peers")
        async with AsyncExitStack() as stack:
            writer = await stack.enter_async_context(watching(settings, namespace))
            first = await stack.enter_async_context(watching(settings, namespace))
            second = await stack.enter_async_context(watching(settings, namespace))
            await writer.notices.tell()
            told = time.monotonic()
            assert len(first.invalidated) == len(second.invalidated) == 1
            assert max(first.invalidated + second.invalidated) <= told
            assert writer.invalidated == []  # its own write invalidated it already

    anyio.run(main)


def test_a_stopped_gateway_delays_no_notice(settings: Settings) -> None:
    async def main() -> None:
        namespace = fresh_namespace("peers")
        async with watching(settings, namespace) as writer:
            async with watching(settings, namespace) as stopping:
                await writer.notices.tell()
                assert len(stopping.invalidated) == 1
            started = time.monotonic()
            await writer.notices.tell()
            # Waiting for a watcher that is gone would take the notify's whole timeout.
            assert time.monotonic() - started < NOTIFY_TIMEOUT_MS / 1000 / 2
            assert len(stopping.invalidated) == 1

    anyio.run(main)
