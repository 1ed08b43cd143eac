"""The cluster-state cache: the maps the read endpoints are built from, and their answers.

Each map (the OSD map with its CRUSH map, tree and OSD metadata; the monmap and quorum; the
active mgr's configuration; the daemons' metadata and the service map; each daemon's perf
counters) is a `CachedMap`: a value, the time the cluster last confirmed it, and, where Ceph
has one, its version (the OSD map's epoch). A read is served from it while it is at most
`cache_max_age` seconds old. Past that, one refresh runs however many requests wait for it
(single-flight), and it is cheap when nothing changed: the OSD map's epoch is asked first
(`osd stat`) and the map fetched only when it moved. Reads past half that age start the
refresh in the background, so under load no read waits for the cluster.

When a refresh does not end within `cache_stale_after` seconds, the read is answered from
the last value known, marked stale; with none known yet, 503. A write made through this
gateway invalidates every map: the next read waits for a refresh (cheap when the write
changed nothing), so a client that PATCHes then GETs sees its change.

Answers derived from a value (the module's JSON, rendered once per value) are kept with it
(`Snapshot.derive`): a read costs what it returns, not a parse of the whole map.

The answers of read-only commands run as jobs (POST /request `osd stat`, `status`...) are
kept the same way (`CommandAnswers`): one asked of the cluster at most `cache_max_age` ago is
the answer of the same command again, and a write through this gateway forgets them all.
"""

from __future__ import annotations

import json
import logging
import time
from collections import OrderedDict
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Coroutine,
    Hashable,
    Mapping,
    Sequence,
)
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import anyio
import anyio.lowlevel
from anyio.abc import TaskGroup
from pydantic import TypeAdapter

from app.ceph.concurrency import first_error, gather
from app.errors import CephError, GatewayError, ServiceUnavailable

log = logging.getLogger(__name__)

T = TypeVar("T")
D = TypeVar("D")

Clock = Callable[[], float]
# Told (map name, event) for the metrics: hit, refresh, stale for reads; unchanged, fetched,
# failed for refreshes.
CacheObserver = Callable[[str, str], None]


@dataclass
class Snapshot(Generic[T]):
    """One value of a map, as fetched, with what was derived from it."""

    value: T
    version: Hashable | None
    confirmed_at: float  # when the cluster last said this value is current
    derived: dict[Hashable, Any] = field(default_factory=dict)
    # Shared by every snapshot of one map: what the answers of a value may reuse for the
    # next one (each OSD's rendered JSON: most are the same from one epoch to the next).
    memo: dict[Hashable, Any] = field(default_factory=dict)

    def derive(self, key: Hashable, make: Callable[[], D]) -> D:
        """What `make` builds from this value, built once (a view, a rendered answer)."""
        if key not in self.derived:
            self.derived[key] = make()
        result: D = self.derived[key]
        return result


@dataclass(frozen=True)
class Reading(Generic[T]):
    """A snapshot as one read got it: how old it is, and whether it is past its refresh."""

    snapshot: Snapshot[T]
    age: float
    stale: bool

    @property
    def value(self) -> T:
        return self.snapshot.value


# Fetches a map: (value, its version or None).
Fetch = Callable[[], Awaitable[tuple[T, Hashable | None]]]
# Asks for a map's version alone, cheaply.
Version = Callable[[], Awaitable[Hashable]]
# Derives answers of a new snapshot once it is served, told the one it replaced.
Warm = Callable[[Snapshot[T], Snapshot[T] | None], None]


class CachedMap(Generic[T]):
    """One map of the cache: its last snapshot, and the one refresh at a time.

    Refreshes are numbered. A read that needs the cluster's word (past its age, after an
    invalidation, or `fresh`) waits for a refresh numbered after its arrival: one already
    running may have asked the cluster before the write it must see.
    """

    def __init__(
        self,
        name: str,
        fetch: Fetch[T],
        state: ClusterState,
        version: Version | None = None,
        warm: Warm[T] | None = None,
    ) -> None:
        self.name = name
        self._fetch = fetch
        self._version = version
        self._warm = warm
        self._state = state
        self._snapshot: Snapshot[T] | None = None
        self._started = 0  # the number of the last refresh started
        self._confirmed = 0  # ... of the last that succeeded
        self._failed = 0  # ... of the last that failed, with its error
        self._error: BaseException | None = None
        self._invalid_before = 0  # refreshes up to this number predate the last write
        self._running: anyio.Event | None = None
        self._memo: dict[Hashable, Any] = {}

    @property
    def snapshot(self) -> Snapshot[T] | None:
        return self._snapshot

    def age(self) -> float | None:
        if self._snapshot is None:
            return None
        return self._state.clock() - self._snapshot.confirmed_at

    def invalidate(self) -> None:
        self._invalid_before = self._started

    @property
    def failing(self) -> bool:
        """Whether its last refresh failed (reads get the last value known, or 503)."""
        return self._failed > self._confirmed

    def peek(self) -> Reading[T] | None:
        """The reading `get` would answer at once (a hit), or None when it would wait."""
        state = self._state
        snapshot = self._snapshot
        if snapshot is not None and self._confirmed > self._invalid_before:
            age = state.clock() - snapshot.confirmed_at
            if age < state.max_age:
                if age > state.max_age / 2:
                    self._refresh_from()  # ahead of need
                state.observe(self.name, "hit")
                return Reading(snapshot, age, stale=False)
        return None

    async def get(self, *, fresh: bool = False) -> Reading[T]:
        """The map, at most `max_age` old; with `fresh`, confirmed by the cluster now."""
        state = self._state
        if not fresh and (reading := self.peek()) is not None:
            return reading
        need = self._started + 1
        # A write needs today's map whatever it costs; a read waits a bounded time.
        with anyio.move_on_after(None if fresh else state.stale_after):
            while self._confirmed < need and self._failed < need:
                await self._refresh_from().wait()
        snapshot = self._snapshot
        if self._confirmed >= need and snapshot is not None:
            state.observe(self.name, "refresh")
            return Reading(snapshot, state.clock() - snapshot.confirmed_at, stale=False)
        error = self._error if self._failed >= need else None
        if snapshot is not None and not fresh and _may_serve_stale(error):
            state.observe(self.name, "stale")
            return Reading(snapshot, state.clock() - snapshot.confirmed_at, stale=True)
        if error is not None:
            raise error
        raise ServiceUnavailable(
            f"the cluster did not answer within {state.stale_after:g} s and nothing is known "
            f"of its {self.name} yet",
            retry_after=1,
        )

    async def _unchanged(self, snapshot: Snapshot[T]) -> bool:
        """Whether the map's version is still the snapshot's (False when it has none)."""
        if self._version is None or snapshot.version is None:
            return False
        return await self._version() == snapshot.version

    def _refresh_from(self) -> anyio.Event:
        """The refresh running, or a new one."""
        if self._running is None:
            self._started += 1
            self._running = anyio.Event()
            # In the cache's own task group: a request that stops waiting (or is cancelled)
            # does not take the refresh down with it.
            self._state.spawn(self._refresh, self._started, self._running)
        return self._running

    async def _refresh(self, number: int, done: anyio.Event) -> None:
        state = self._state
        started = state.clock()
        try:
            snapshot = self._snapshot
            if snapshot is not None and await self._unchanged(snapshot):
                snapshot.confirmed_at = started
                self._confirmed = number
                state.observe(self.name, "unchanged")
                return
            value, version = await self._fetch()
            previous = self._snapshot
            fetched = Snapshot(value, version, confirmed_at=started, memo=self._memo)
            self._snapshot = fetched
            self._confirmed = number
            state.observe(self.name, "fetched")
        except Exception as exc:
            self._error, self._failed = exc, number
            state.observe(self.name, "failed")
            log.warning("cannot refresh the %s: %s", self.name, exc)
            return
        finally:
            self._running = None
            done.set()
        if self._warm is not None:
            await self._warmed(fetched, previous)

    async def _warmed(self, fetched: Snapshot[T], previous: Snapshot[T] | None) -> None:
        """`warm` once the reads waiting for this refresh had the new snapshot: /pool does
        not wait for GET /osd's body (50-250 ms of CPU at 10,000 OSDs). On the event loop,
        as a read would render it: in a thread, the GIL gives it no more CPU, and glibc
        gives the thread its own malloc arena, which kept ~30 MB more resident at 10,000
        OSDs. A read that needs an answer first makes it itself (`Snapshot.derive` runs on
        the loop: never twice). A failure costs only the warmth: that read gets the error.
        """
        assert self._warm is not None
        await anyio.lowlevel.checkpoint()
        try:
            self._warm(fetched, previous)
        except Exception as exc:
            log.warning("cannot prepare the answers of the %s: %s", self.name, exc)


async def get_all(maps: Sequence[CachedMap[Any]], limit: int | None = None) -> list[Reading[Any]]:
    """`get()` of each map, in order; at once when every one is a hit (the common case under
    load: no task group, no task per map), else the others asked at once (at most `limit`)."""
    readings: list[Reading[Any] | None] = [cached.peek() for cached in maps]
    missing = [i for i, reading in enumerate(readings) if reading is None]
    if len(missing) == 1:
        readings[missing[0]] = await maps[missing[0]].get()
    elif missing:
        got = await gather([maps[i].get for i in missing], limit=limit)
        for i, reading in zip(missing, got, strict=True):
            readings[i] = reading
    return [r for r in readings if r is not None]


def _may_serve_stale(error: BaseException | None) -> bool:
    """Whether the cluster is slow or away (serve the last value), not refusing (raise)."""
    if error is None or isinstance(error, ServiceUnavailable):
        return True
    return isinstance(error, CephError) and error.status_code in (503, 504)


@dataclass(frozen=True)
class Answer:
    """A read's answer: the module's JSON, rendered once per map version, and its age."""

    body: bytes
    age: float
    stale: bool


def render(adapter: TypeAdapter[Any], value: Any, *, exclude_unset: bool = False) -> bytes:
    """`value` as its response model serializes it: what FastAPI would send, made once."""
    return adapter.dump_json(
        adapter.validate_python(value), exclude_unset=exclude_unset, by_alias=True
    )


def answer(
    reading: Reading[Any],
    key: Hashable,
    make: Callable[[], Any],
    adapter: TypeAdapter[Any],
    *,
    exclude_unset: bool = False,
) -> Answer:
    """The answer `key` of a reading's snapshot: `make()` rendered, once per snapshot."""
    body = reading.snapshot.derive(
        ("answer", key), lambda: render(adapter, make(), exclude_unset=exclude_unset)
    )
    return Answer(body, reading.age, reading.stale)


# A mon command's answer as a job records it: (return code, output buffer, status string).
CommandAnswer = tuple[int, str, str]
# The name the metrics count the command answers under (`cephgw_cache_events{map=...}`).
COMMAND_ANSWERS = "command answers"


class _Asking:
    """One question to the cluster that identical ones wait for (`CommandAnswers.get`)."""

    __slots__ = ("answer", "done", "error", "generation", "started")

    def __init__(self, generation: int, started: float) -> None:
        self.generation = generation  # the answers' generation when it was asked
        self.started = started
        self.done = anyio.Event()
        self.answer: CommandAnswer | None = None
        self.error: BaseException | None = None


class CommandAnswers:
    """Answers of read-only commands, reused as reads reuse the maps: for at most `max_age`
    seconds since the cluster was asked (`cache_max_age`; 0 keeps none), and none once the
    gateway wrote (`invalidate`, with the maps). Keyed by the command's JSON as given (its
    arguments in order, each value with its JSON type). Only successful answers are kept, at
    most KEPT, the oldest dropped first.

    Identical commands asked meanwhile share the one question in flight, unless it was asked
    before the last write: a command arriving after a write waits for a question asked after
    it, as a read does.
    """

    KEPT = 1024

    def __init__(self, state: ClusterState) -> None:
        self._state = state
        self._answers: OrderedDict[str, tuple[float, CommandAnswer]] = OrderedDict()
        self._asking: dict[str, _Asking] = {}
        self._generation = 0  # one more at each write

    def __len__(self) -> int:
        return len(self._answers)

    def invalidate(self) -> None:
        self._answers.clear()
        self._generation += 1

    async def get(
        self, command: Mapping[str, Any], ask: Callable[[], Awaitable[CommandAnswer]]
    ) -> CommandAnswer:
        """The answer to `command`: a kept one young enough, or what `ask()` (which must ask
        the cluster) answers."""
        state = self._state
        key = json.dumps(command)
        kept = self._fresh(key)
        if kept is not None:
            state.observe(COMMAND_ANSWERS, "hit")
            return kept
        while (asking := self._asking.get(key)) is not None and (
            asking.generation == self._generation
        ):
            await asking.done.wait()
            if asking.answer is not None:
                state.observe(COMMAND_ANSWERS, "shared")
                return asking.answer
            if not isinstance(asking.error, anyio.get_cancelled_exc_class()):
                assert asking.error is not None
                raise asking.error
            # Its asker was cancelled, not the question: ask again.
        asking = self._asking[key] = _Asking(self._generation, state.clock())
        try:
            answer = asking.answer = await ask()
        except BaseException as exc:
            asking.error = exc
            raise
        finally:
            if self._asking.get(key) is asking:
                del self._asking[key]
            asking.done.set()
        state.observe(COMMAND_ANSWERS, "fetched")
        if answer[0] == 0 and asking.generation == self._generation and state.max_age > 0:
            self._keep(key, asking.started, answer)
        return answer

    def kept(self, command: Mapping[str, Any]) -> CommandAnswer | None:
        """The answer `get` would give at once (without asking), or None; counted as a hit
        only once `count_hits` says it was used."""
        return self._fresh(json.dumps(command))

    def count_hits(self, count: int) -> None:
        for _ in range(count):
            self._state.observe(COMMAND_ANSWERS, "hit")

    def _fresh(self, key: str) -> CommandAnswer | None:
        kept = self._answers.get(key)
        if kept is None or self._state.clock() - kept[0] >= self._state.max_age:
            return None
        return kept[1]

    def _keep(self, key: str, asked_at: float, answer: CommandAnswer) -> None:
        answers = self._answers
        answers.pop(key, None)
        answers[key] = (asked_at, answer)
        now, max_age = self._state.clock(), self._state.max_age
        while answers:
            oldest = next(iter(answers.values()))
            if len(answers) <= self.KEPT and now - oldest[0] < max_age:
                break
            answers.popitem(last=False)


class ClusterState:
    """Every cached map of the process, and the answers of read-only commands; opened by
    `open_cluster_state` (the lifespan)."""

    def __init__(
        self,
        *,
        max_age: float,
        stale_after: float,
        clock: Clock = time.monotonic,
        observe: CacheObserver | None = None,
    ) -> None:
        self.max_age = max_age
        self.stale_after = stale_after
        self.clock = clock
        self._observe = observe
        self._maps: dict[str, CachedMap[Any]] = {}
        self._task_group: TaskGroup | None = None
        self.command_answers = CommandAnswers(self)

    def add(self, cached: CachedMap[T]) -> CachedMap[T]:
        self._maps[cached.name] = cached
        return cached

    def cached(self, name: str) -> CachedMap[Any] | None:
        return self._maps.get(name)

    def maps(self) -> list[CachedMap[Any]]:
        return list(self._maps.values())

    def remove(self, drop: Callable[[str], bool]) -> None:
        """Forget the maps whose name `drop` picks (a daemon's counters, once it is gone)."""
        for name in [n for n in self._maps if drop(n)]:
            del self._maps[name]

    def invalidate(self) -> None:
        """After a write: every map is refreshed before it is read again, and every command
        asked again."""
        for cached in self._maps.values():
            cached.invalidate()
        self.command_answers.invalidate()

    def observe(self, name: str, event: str) -> None:
        if self._observe is not None:
            self._observe(name, event)

    def spawn(self, func: Callable[..., Coroutine[Any, Any, None]], *args: Any) -> None:
        if self._task_group is None:
            raise GatewayError("the cluster-state cache is not open")
        self._task_group.start_soon(func, *args)


@asynccontextmanager
async def open_cluster_state(
    *,
    max_age: float,
    stale_after: float,
    clock: Clock = time.monotonic,
    observe: CacheObserver | None = None,
) -> AsyncIterator[ClusterState]:
    """The cache for the app's lifetime; its refreshes are cancelled when it closes."""
    state = ClusterState(max_age=max_age, stale_after=stale_after, clock=clock, observe=observe)
    try:
        async with anyio.create_task_group() as tasks:
            state._task_group = tasks
            try:
                yield state
            finally:
                tasks.cancel_scope.cancel()
    except BaseExceptionGroup as group:
        # What the caller's own code raised, not wrapped by the cache's task group.
        raise first_error(group) from group
