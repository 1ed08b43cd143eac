"""Pure parts of the Ceph client layer, and its deadline for the mgr's commands (on a client
whose mgr answers when the test says)."""

from __future__ import annotations

import errno
import threading
import time
from collections.abc import Mapping
from typing import Any

import anyio
import pytest

from app.ceph.client import CephClient
from app.ceph.commands import humanize_command
from app.errors import CephError, ServiceUnavailable
from app.settings import Settings


def test_humanize_command_matches_the_module_form() -> None:
    command = {"prefix": "osd pool set", "pool": "rbd", "var": "size", "val": "2"}
    assert humanize_command(command) == "osd pool set pool=rbd var=size val=2"


def test_humanize_command_keeps_a_callers_format_and_handles_bare_prefix() -> None:
    assert humanize_command({"prefix": "osd dump", "format": "json"}) == "osd dump format=json"
    assert humanize_command({"prefix": "osd dump"}) == "osd dump"


def test_calls_before_connecting_are_503_not_a_hang() -> None:
    client = CephClient(Settings(conf=None))
    with pytest.raises(ServiceUnavailable) as caught:
        client.mon_command({"prefix": "osd dump"})
    assert caught.value.status_code == 503
    assert "cluster unavailable" in caught.value.message


class _HeldByTheMgr(CephClient):
    """A connected client whose mgr answers a command only once `answer` is set."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.unreachable_since = None
        self.answer = threading.Event()

    def mgr_command_result(
        self, command: Mapping[str, Any], inbuf: bytes = b""
    ) -> tuple[int, str, str]:
        self.answer.wait(10)
        return 0, "late", ""


def test_a_mgr_that_does_not_answer_is_given_up_on_in_time_and_says_nothing_of_the_mons() -> None:
    async def main() -> None:
        ceph = _HeldByTheMgr(Settings().model_copy(update={"ceph_timeout": 0.2, "ceph_threads": 1}))
        pg_dump = {"prefix": "pg dump"}
        started = time.monotonic()
        with pytest.raises(CephError) as late:
            await ceph.amgr_command_result(pg_dump)
        assert time.monotonic() - started < 1
        assert (late.value.errno, late.value.message) == (
            errno.ETIMEDOUT,
            "the mgr did not answer within 0.2 s",
        )
        assert ceph.unreachable_since is None  # jobs of mon commands go on
        # Its thread still waits for the mgr, and no more than ceph_threads may.
        with pytest.raises(ServiceUnavailable, match="still wait for its answer") as full:
            await ceph.amgr_command_result(pg_dump)
        assert full.value.headers == {"Retry-After": "5"}
        ceph.answer.set()
        deadline = time.monotonic() + 5
        while True:  # until the answered thread has left
            try:
                assert await ceph.amgr_command_result(pg_dump) == (0, "late", "")
                break
            except ServiceUnavailable:
                assert time.monotonic() < deadline
                await anyio.sleep(0.01)

    anyio.run(main)
