"""The cluster-state cache's pure parts: the answers of read-only commands (`CommandAnswers`),
reused for at most `cache_max_age` and forgotten at a write; reading maps at once (`get_all`)."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from app.ceph.state import CachedMap, ClusterState, CommandAnswer, get_all, open_cluster_state


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Cluster:
    """Answers each command with how many times it was asked; `gate` holds the answers."""

    def __init__(self, ret: int = 0) -> None:
        self.asked = 0
        self.ret = ret
        self.gate: anyio.Event | None = None

    async def ask(self) -> CommandAnswer:
        self.asked += 1
        number = self.asked
        if self.gate is not None:
            await self.gate.wait()
        return self.ret, f"answer {number}", ""


def _state(clock: Clock, max_age: float = 1.0) -> tuple[ClusterState, list[tuple[str, str]]]:
    events: list[tuple[str, str]] = []
    state = ClusterState(
        max_age=max_age,
        stale_after=1.0,
        clock=clock,
        observe=lambda name, event: events.append((name, event)),
    )
    return state, events


OSD_STAT: dict[str, Any] = {"prefix": "osd stat", "format": "json"}


def test_an_answer_is_reused_until_it_is_max_age_old() -> None:
    async def main() -> None:
        clock, cluster = Clock(), Cluster()
        state, events = _state(clock)
        answers = state.command_answers
        assert await answers.get(OSD_STAT, cluster.ask) == (0, "answer 1", "")
        clock.now += 0.9
        assert await answers.get(dict(OSD_STAT), cluster.ask) == (0, "answer 1", "")
        clock.now += 0.1  # 1 s since it was asked
        assert await answers.get(OSD_STAT, cluster.ask) == (0, "answer 2", "")
        assert [e for _, e in events] == ["fetched", "hit", "fetched"]
        assert {name for name, _ in events} == {"command answers"}

    anyio.run(main)


def test_other_arguments_types_or_order_are_other_commands() -> None:
    async def main() -> None:
        cluster = Cluster()
        answers = _state(Clock())[0].command_answers
        for command in (
            {"prefix": "osd stat"},
            {"prefix": "osd stat", "format": "json"},
            {"format": "json", "prefix": "osd stat"},
            {"prefix": "osd pool get", "pool": "1", "var": "size"},
            {"prefix": "osd pool get", "pool": 1, "var": "size"},
        ):
            await answers.get(command, cluster.ask)
        assert cluster.asked == 5

    anyio.run(main)


def test_a_write_forgets_every_answer() -> None:
    async def main() -> None:
        cluster = Cluster()
        state = _state(Clock())[0]
        await state.command_answers.get(OSD_STAT, cluster.ask)
        state.invalidate()  # what a job's write calls
        assert len(state.command_answers) == 0
        assert await state.command_answers.get(OSD_STAT, cluster.ask) == (0, "answer 2", "")

    anyio.run(main)


def test_failures_are_not_kept_and_max_age_zero_keeps_nothing() -> None:
    async def main() -> None:
        failing = Cluster(ret=-2)
        answers = _state(Clock())[0].command_answers
        await answers.get(OSD_STAT, failing.ask)
        await answers.get(OSD_STAT, failing.ask)
        assert failing.asked == 2
        cluster = Cluster()
        uncached = _state(Clock(), max_age=0)[0].command_answers
        await uncached.get(OSD_STAT, cluster.ask)
        await uncached.get(OSD_STAT, cluster.ask)
        assert (cluster.asked, len(uncached)) == (2, 0)

    anyio.run(main)


def test_identical_commands_in_flight_share_one_question_but_not_across_a_write() -> None:
    async def main() -> None:
        cluster = Cluster()
        cluster.gate = anyio.Event()
        state = _state(Clock())[0]
        got: list[CommandAnswer] = []

        async def one() -> None:
            got.append(await state.command_answers.get(OSD_STAT, cluster.ask))

        async with anyio.create_task_group() as tg:
            for _ in range(3):
                tg.start_soon(one)
            await anyio.wait_all_tasks_blocked()
            assert cluster.asked == 1
            state.invalidate()  # a write while the question is on its way
            tg.start_soon(one)  # arrives after it: asks again
            await anyio.wait_all_tasks_blocked()
            assert cluster.asked == 2
            cluster.gate.set()
        assert sorted(got) == [(0, "answer 1", "")] * 3 + [(0, "answer 2", "")]
        # Only the question asked after the write is kept.
        cluster.gate = None
        assert await state.command_answers.get(OSD_STAT, cluster.ask) == (0, "answer 2", "")

    anyio.run(main)


def test_answers_kept_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    async def main() -> None:
        clock, cluster = Clock(), Cluster()
        answers = _state(clock)[0].command_answers
        monkeypatch.setattr(answers, "KEPT", 3)
        for n in range(5):
            await answers.get({"prefix": "osd pool get", "pool": f"p{n}"}, cluster.ask)
        assert len(answers) == 3
        clock.now += 1  # all of them old: the next one kept drops them
        await answers.get(OSD_STAT, cluster.ask)
        assert len(answers) == 1

    anyio.run(main)


def test_get_all_reads_hits_at_once_and_asks_only_for_the_others() -> None:
    async def main() -> None:
        clock = Clock()
        fetched: list[str] = []

        def fetcher(name: str) -> Any:
            async def fetch() -> tuple[str, None]:
                fetched.append(name)
                return f"{name} {len(fetched)}", None

            return fetch

        async with open_cluster_state(max_age=1.0, stale_after=1.0, clock=clock) as state:
            a, b, c = (state.add(CachedMap(n, fetcher(n), state)) for n in "abc")
            assert a.peek() is None  # nothing known: a read would wait
            assert [r.value for r in await get_all([a, b, c])] == ["a 1", "b 2", "c 3"]
            clock.now += 0.4
            assert [r.value for r in await get_all([a, b, c])] == ["a 1", "b 2", "c 3"]
            assert len(fetched) == 3  # all hits: nothing asked
            state.invalidate()
            assert b.peek() is None  # a write: the next read waits for the cluster
            readings = await get_all([c, b])
            assert [r.value for r in readings] == ["c 4", "b 5"]
            assert [r.age for r in readings] == [0.0, 0.0]

    anyio.run(main)
