"""Running Ceph calls at once, with anyio: the one idiom for concurrent reads."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import anyio


def first_error(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The first real exception in a (nested) task-group exception group."""
    error: BaseException = group
    while isinstance(error, BaseExceptionGroup):
        error = error.exceptions[0]
    return error


async def gather(
    calls: Sequence[Callable[[], Awaitable[Any]]], limit: int | None = None
) -> list[Any]:
    """Run every call at once (at most `limit` at a time) and return their results in order.

    When one fails the others are cancelled, and its exception is raised as it is, not in an
    exception group: the app maps a bare GatewayError to its HTTP status.
    """
    results: list[Any] = [None] * len(calls)
    limiter = anyio.CapacityLimiter(limit) if limit else None

    async def run(index: int, call: Callable[[], Awaitable[Any]]) -> None:
        if limiter is None:
            results[index] = await call()
            return
        async with limiter:
            results[index] = await call()

    try:
        async with anyio.create_task_group() as tasks:
            for index, call in enumerate(calls):
                tasks.start_soon(run, index, call)
    except BaseExceptionGroup as group:
        raise first_error(group) from group
    return results
