"""The pure parts of jobs and /request: ?wait= and ?page=, state, humanising, the deny-list,
the body's shape, and eviction of finished jobs (empty jobs, which finish without Ceph); and
where a job's commands go, on a client that answers at once."""

from __future__ import annotations

import errno
import json
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any

import anyio
import pytest
from pydantic import ValidationError

from app.ceph.client import CephClient
from app.ceph.commands import (
    DEFAULT_DENIED_COMMANDS,
    DenyRule,
    check_not_denied,
    denied_by,
    humanize_command,
    paginate,
    parse_deny_list,
)
from app.errors import Forbidden, ServiceUnavailable
from app.jobs import (
    Job,
    JobTable,
    abandoned,
    job_record,
    job_state,
    open_job_table,
    records_to_evict,
)
from app.models.request import Job as JobModel
from app.models.request import RequestBody
from app.settings import Settings
from tests.support.jobs import MODULE_POST_POOL_NOWAIT, FakeClock

# A job as the module answered it, shared with the pool tests.
MODULE_JOB = MODULE_POST_POOL_NOWAIT


# -- state and JSON -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("running", "waiting", "failed", "state"),
    [
        (True, False, False, "pending"),
        (False, True, False, "pending"),
        (True, True, True, "pending"),  # a failure shows only once all is done
        (False, True, True, "pending"),
        (False, False, False, "success"),
        (False, False, True, "failed"),
    ],
)
def test_job_state(running: bool, waiting: bool, failed: bool, state: str) -> None:
    assert job_state(running=running, waiting=waiting, failed=failed) == state


def test_empty_waves_are_dropped() -> None:
    job = Job("j", [[], [{"prefix": "osd stat"}], [], [{"prefix": "mon stat"}]])
    assert job.waiting == [[{"prefix": "osd stat"}], [{"prefix": "mon stat"}]]
    assert Job("k", [[], []]).is_finished


def test_a_job_with_nothing_to_run_is_a_success() -> None:
    out = Job("j", []).to_json()
    assert out == {
        "id": "j",
        "running": [],
        "finished": [],
        "failed": [],
        "waiting": [],
        "is_waiting": False,
        "is_finished": True,
        "has_failed": False,
        "state": "success",
    }


def test_job_json_keeps_every_field_of_the_module() -> None:
    job = Job("j", [[{"prefix": "osd stat"}], [{"prefix": "osd pool set", "pool": "p"}]])
    job.start_next_wave()
    out = job.to_json()
    assert set(MODULE_JOB) <= set(out)
    assert set(out["running"][0]) == {"command", "outs", "outb", "errno"}
    assert out["waiting"] == [["osd pool set pool=p"]]
    assert (out["is_waiting"], out["is_finished"], out["state"]) == (True, False, "pending")
    JobModel.model_validate(out)


def test_the_modules_job_json_fits_the_model() -> None:
    assert JobModel.model_validate(MODULE_JOB).running[0].errno is None


def test_job_copies_its_commands() -> None:
    command = {"prefix": "osd stat"}
    job = Job("j", [[command]])
    command["prefix"] = "auth get"
    assert job.waiting == [[{"prefix": "osd stat"}]]


# -- humanising ---------------------------------------------------------------------------------


def test_humanify_is_the_modules_form() -> None:
    assert humanize_command({"prefix": "osd stat", "format": "json"}) == "osd stat format=json"
    assert (
        humanize_command({"prefix": "osd pool set", "pool": "x", "var": "size", "val": 2})
        == "osd pool set pool=x var=size val=2"
    )
    # prefix first, the rest in the caller's order, values as Python prints them
    assert (
        humanize_command({"b": True, "prefix": "p", "a": ["x"], "c": None})
        == "p b=True a=['x'] c=None"
    )
    assert humanize_command({"prefix": "mon stat"}) == "mon stat"


# -- ?page= -------------------------------------------------------------------------------------


def test_paginate_none_is_everything() -> None:
    assert paginate(list(range(250)), None) == list(range(250))


@pytest.mark.parametrize(
    ("length", "page", "expected"),
    [
        (250, 0, range(100)),
        (250, 1, range(100, 200)),
        (250, 2, range(200, 250)),
        (250, 3, range(0)),
        (250, 1000, range(0)),
        (0, 0, range(0)),
        (0, -1, range(0)),
        (250, -1, range(150, 250)),  # the last 100, as the module
        (70, -1, range(70)),  # the module gave only the last 30 here (a slicing bug)
        (30, -1, range(30)),
        (100, -1, range(100)),
        (250, -2, range(50, 150)),
        (250, -3, range(0, 50)),
        (250, -4, range(0)),
        (70, -2, range(0)),
    ],
)
def test_paginate(length: int, page: int, expected: range) -> None:
    assert paginate(list(range(length)), page) == list(expected)


# -- deny-list ----------------------------------------------------------------------------------

RULES = parse_deny_list(DEFAULT_DENIED_COMMANDS)


@pytest.mark.parametrize(
    "command",
    [
        {"prefix": "auth get", "entity": "client.admin"},
        {"prefix": "auth export"},
        {"prefix": "auth get-key", "entity": "client.admin"},
        {"prefix": "auth print-key", "entity": "client.admin"},
        {"prefix": "auth print_key", "entity": "client.admin"},
        {"prefix": "auth get-or-create", "entity": "client.x"},
        {"prefix": "auth get-or-create-key", "entity": "client.x"},
        {"prefix": "auth ls"},
        {"prefix": "auth list"},
        {"prefix": "fs authorize", "filesystem": "a", "entity": "client.x", "caps": ["/", "rw"]},
        {"prefix": "  AUTH   Get ", "entity": "client.admin"},  # spacing and case do not help
        {"prefix": "config-key get", "key": "cephgw/keys/admin"},
        {"prefix": "config-key exists", "key": "cephgw/keys/admin"},
        {"prefix": "config-key dump"},  # every key
        {"prefix": "config-key dump", "key": ""},
        {"prefix": "config-key dump", "key": "cephgw"},  # a prefix of cephgw/keys/
        {"prefix": "config-key dump", "key": "cephgw/keys/"},
        {"prefix": "config-key dump", "key": "cephgw/keys/ad"},
        {"prefix": "config-key ls"},
        {"prefix": "config-key ls", "key": "mgr/"},  # ls takes no key: it lists all
        {"prefix": "restful list-keys"},
        {"prefix": "restful create-key", "key_name": "admin"},
        # The module's plaintext keys and the TLS private keys (global and per mgr).
        {"prefix": "config-key get", "key": "mgr/restful/keys/admin"},
        {"prefix": "config-key get", "key": "mgr/restful/x/key"},
        {"prefix": "config-key exists", "key": "mgr/restful/key"},
        {"prefix": "config-key dump", "key": "mgr/"},
    ],
)
def test_default_deny_list_refuses(command: dict[str, Any]) -> None:
    assert denied_by(command, RULES) is not None


@pytest.mark.parametrize(
    "command",
    [
        {"prefix": "auth add", "entity": "client.x"},
        {"prefix": "auth rm", "entity": "client.x"},
        {"prefix": "auth caps", "entity": "client.x", "caps": ["mon", "allow r"]},
        {"prefix": "config-key set", "key": "cephgw/keys/x", "val": "y"},
        {"prefix": "config-key exists", "key": "mgr/x"},
        {"prefix": "config-key dump", "key": "cephgw/other"},
        {"prefix": "osd stat"},
        {"prefix": "restful delete-key", "key_name": "x"},
    ],
)
def test_default_deny_list_lets_pass(command: dict[str, Any]) -> None:
    assert denied_by(command, RULES) is None


def test_the_deny_lists_one_pattern_finds_the_rule_each_rule_finds() -> None:
    # A DenyList first tries the pattern of all its globs; a plain list tries each rule.
    commands = [
        {"prefix": "auth get", "entity": "client.admin"},
        {"prefix": "auth get-or-create-key", "entity": "client.x"},
        {"prefix": " Config-Key  DUMP", "key": "cephgw"},
        {"prefix": "config-key dump", "key": "cephgw/other"},
        {"prefix": "auth add", "entity": "client.x"},
        {"prefix": "osd stat"},
        {"prefix": ""},
        {},
    ]
    for command in commands:
        assert denied_by(command, RULES) == denied_by(command, list(RULES)), command
    assert denied_by({"prefix": "auth get"}, parse_deny_list([])) is None


def test_deny_rule_parsing() -> None:
    rule = DenyRule.parse("config-key  get key=cephgw/keys/")
    assert rule.prefix_glob == "config-key get"
    assert rule.args == (("key", "cephgw/keys/"),)
    with pytest.raises(ValueError, match="names no command"):
        DenyRule.parse("key=x")


def test_deny_list_is_a_setting() -> None:
    rules = parse_deny_list(Settings(request_deny=["osd pool rm*"]).request_deny)
    assert denied_by({"prefix": "osd pool rm", "pool": "x"}, rules) is not None
    assert denied_by({"prefix": "auth get", "entity": "client.admin"}, rules) is None
    with pytest.raises(ValidationError, match="names no command"):
        Settings(request_deny=["pool=x"])


def test_check_not_denied_names_the_command() -> None:
    waves = [[{"prefix": "osd stat"}], [{"prefix": "mon stat"}, {"prefix": "auth export"}]]
    with pytest.raises(Forbidden, match="'auth export'") as info:
        check_not_denied(waves, RULES)
    assert info.value.status_code == 403
    check_not_denied(waves[:1], RULES)


# -- POST /request body -------------------------------------------------------------------------


def test_body_one_command_is_one_wave() -> None:
    body = RequestBody.model_validate({"prefix": "osd pool get", "pool": "x", "var": "size"})
    assert body.waves() == [[{"prefix": "osd pool get", "pool": "x", "var": "size"}]]


def test_body_waves_keep_argument_order_and_empty_waves() -> None:
    body = RequestBody.model_validate(
        [[{"val": 1, "prefix": "a", "pool": "p"}, {"prefix": "b"}], []]
    )
    assert body.waves() == [[{"prefix": "a", "val": 1, "pool": "p"}, {"prefix": "b"}], []]
    assert humanize_command(body.waves()[0][0]) == "a val=1 pool=p"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("osd stat", "must be a mon command"),
        (3, "must be a mon command"),
        ({}, "the command needs a 'prefix'"),
        ({"prefix": ""}, "needs a 'prefix'"),
        ({"prefix": "  "}, "needs a 'prefix'"),
        ({"prefix": 1}, "needs a 'prefix'"),
        ([{"prefix": "osd stat"}], "wave 0 is not a list"),
        ([[{"prefix": "osd stat"}], [{"pool": "x"}]], "wave 1, command 0 needs a 'prefix'"),
        ([[{"prefix": "osd stat"}, "mon stat"]], "wave 0, command 1 is not an object"),
    ],
)
def test_body_refused_with_a_clear_message(data: Any, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        RequestBody.model_validate(data)


# -- eviction (jobs with nothing to run finish at once, without Ceph) ---------------------------


@asynccontextmanager
async def _table(clock: Callable[[], float], **update: Any) -> AsyncIterator[JobTable]:
    settings = Settings().model_copy(update=update)
    async with open_job_table(CephClient(settings), settings, clock) as table:
        yield table


def test_count_bound_drops_the_oldest_finished_first() -> None:
    async def main() -> None:
        async with _table(FakeClock(), job_max_finished=3) as table:
            ids = [table.submit([]).id for _ in range(5)]
            assert [j.id for j in table.list_jobs()] == ids[2:]
            assert table.get(ids[0]) is None
            assert len(table) == table.finished_count == 3

    anyio.run(main)


def test_ttl_drops_finished_jobs_after_it() -> None:
    async def main() -> None:
        clock = FakeClock()
        async with _table(clock, job_ttl=10.0) as table:
            first = table.submit([]).id
            clock.now += 6
            second = table.submit([]).id
            assert [j.id for j in table.list_jobs()] == [first, second]
            clock.now += 4  # the first is 10 s old
            assert [j.id for j in table.list_jobs()] == [second]
            clock.now += 5.9
            assert table.get(second) is not None
            clock.now += 0.1
            assert table.get(second) is None
            assert len(table) == 0

    anyio.run(main)


def test_delete_finished_and_delete_one() -> None:
    async def main() -> None:
        async with _table(FakeClock()) as table:
            ids = [table.submit([[]]).id for _ in range(4)]
            deleted = table.delete(ids[1])
            assert deleted is not None
            assert deleted.id == ids[1]
            assert table.delete(ids[1]) is None
            assert table.delete_finished() == (3, 0)
            assert table.list_jobs() == []

    anyio.run(main)


def test_ids_are_uuid4_and_unique() -> None:
    async def main() -> None:
        async with _table(FakeClock(), job_max_finished=100) as table:
            ids = {table.submit([]).id for _ in range(5000)}
            assert len(ids) == 5000
            assert all(len(i) == 36 and i[14] == "4" for i in ids)
            assert len(table) == 100

    anyio.run(main)


def test_a_closed_table_refuses_jobs() -> None:
    async def main() -> None:
        async with _table(FakeClock()) as table:
            table.submit([])
            table.stop_accepting()
            with pytest.raises(ServiceUnavailable, match="shutting down") as info:
                table.submit([])
            assert info.value.status_code == 503
        with pytest.raises(ServiceUnavailable):
            table.submit([])

    anyio.run(main)


# -- where a job's commands go (a client that answers at once, and tells where each went) -------


class _SentCommands(CephClient):
    """Answers every command at once, as connected, and keeps (where, prefix, shared)."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.unreachable_since = None  # as if connected: jobs start
        self.sent: list[tuple[str, str, bool]] = []

    async def amon_command_result(
        self, command: Mapping[str, Any], *, shared: bool = False
    ) -> tuple[int, str, str]:
        self.sent.append(("mon", str(command["prefix"]), shared))
        return 0, "", ""

    async def amgr_command_result(
        self, command: Mapping[str, Any], *, shared: bool = False
    ) -> tuple[int, str, str]:
        self.sent.append(("mgr", str(command["prefix"]), shared))
        return 0, "", ""


def test_a_jobs_commands_go_to_the_mgr_when_it_serves_them_else_to_a_mon() -> None:
    served_by_mgr = {"osd perf", "osd scrub"}
    only_read = {"osd perf", "osd stat"}

    async def main() -> None:
        settings = Settings()
        ceph = _SentCommands(settings)
        async with open_job_table(
            ceph,
            settings,
            FakeClock(),
            read_only=lambda c: c["prefix"] in only_read,
            served_by_mgr=lambda c: c["prefix"] in served_by_mgr,
        ) as table:
            waves = [[{"prefix": p}] for p in ("osd perf", "osd scrub", "osd stat", "osd out")]
            job = table.submit(waves)
            await table.wait(job)
            assert job.state == "success"
        assert ceph.sent == [
            ("mgr", "osd perf", True),
            ("mgr", "osd scrub", False),
            ("mon", "osd stat", True),
            ("mon", "osd out", False),
        ]

    anyio.run(main)


def test_settings_defaults() -> None:
    s = Settings()
    assert (s.job_wait_timeout, s.job_ttl, s.job_max_finished) == (60.0, 3600.0, 10_000)
    assert "auth get" in s.request_deny


# -- records of the shared store ----------------------------------------------------------------


def _record(job: Job, **kwargs: Any) -> dict[str, Any]:
    args: dict[str, Any] = {"gateway": "gw-a", "now": 5000.0, "lease": 30.0, **kwargs}
    parsed: dict[str, Any] = json.loads(job_record(job, **args))
    return parsed


def test_a_running_job_s_record_holds_a_lease_and_who_runs_it() -> None:
    job = Job("j", [[{"prefix": "osd stat"}], [{"prefix": "mon stat"}]], "ops", 4990.0)
    job.start_next_wave()
    record = _record(job)
    assert record == {
        "job": job.to_json(),
        "gateway": "gw-a",
        "key": "ops",
        "submitted": 4990.0,
        "ended": None,
        "lease_until": 5030.0,
        "output_bytes": 0,
    }
    assert record["job"]["state"] == "pending"


def test_a_finished_job_s_record_is_ended_without_a_lease() -> None:
    job = Job("j", [[{"prefix": "osd stat"}]], "ops", 4990.0)
    [(run, _)] = job.start_next_wave()
    job.complete(run, 0, "abc", "de")
    record = _record(job)
    assert (record["ended"], record["lease_until"], record["output_bytes"]) == (5000.0, None, 5)
    assert record["job"]["finished"][0]["outb"] == "abc"
    # Recorded late (the store did not answer when it ended): ended when it did.
    job.ended_wall = 4995.0
    assert _record(job)["ended"] == 4995.0
    # A job given up (cancelled at shutdown) is ended too, whatever it still shows.
    stopped = Job("k", [[{"prefix": "osd stat"}], [{"prefix": "mon stat"}]])
    stopped.start_next_wave()
    assert _record(stopped, stopped=True)["lease_until"] is None


def test_an_abandoned_job_fails_with_its_gateway_named() -> None:
    job = Job("j", [[{"prefix": "osd stat"}], [{"prefix": "mon stat"}, {"prefix": "df"}]])
    job.start_next_wave()
    record = _record(job)
    ended = abandoned(record, 6000.0)
    out = ended["job"]
    assert (out["state"], out["is_finished"], out["has_failed"]) == ("failed", True, True)
    assert (out["running"], out["waiting"], out["finished"]) == ([], [], [])
    assert [f["command"] for f in out["failed"]] == ["osd stat", "mon stat", "df"]
    assert out["failed"][0]["outs"] == (
        "gateway gw-a stopped while this job ran; it may or may not have run"
    )
    assert out["failed"][1]["outs"] == "gateway gw-a stopped while this job ran; not run"
    assert {f["errno"] for f in out["failed"]} == {errno.ECANCELED}
    assert (ended["ended"], ended["lease_until"]) == (6000.0, None)
    assert record["job"]["state"] == "pending"  # the record given is left as it was
    assert set(out) == set(MODULE_JOB)  # the module's fields, no more, no fewer


def _finished(ended: float, size: int = 0) -> dict[str, Any]:
    return {"job": {"is_finished": True}, "ended": ended, "output_bytes": size}


def test_records_to_evict_applies_the_table_s_limits_oldest_first() -> None:
    running = {"job": {"is_finished": False}, "ended": None, "output_bytes": 10**9}
    records = {"a": _finished(100.0, 10), "b": _finished(300.0, 10), "c": _finished(200.0, 10)}
    records["r"] = running
    limits: dict[str, Any] = {"ttl": 1000.0, "max_finished": 10, "max_output_bytes": 100}
    assert records_to_evict(records, now=400.0, **limits) == []
    assert records_to_evict(records, now=1150.0, **limits) == ["a"]  # TTL
    assert records_to_evict(records, now=400.0, **{**limits, "max_finished": 1}) == ["a", "c"]
    assert records_to_evict(records, now=400.0, **{**limits, "max_output_bytes": 15}) == [
        "a",
        "c",
    ]
    # A DELETE /request at 250: what ended by then is gone, what ended after and runs stays.
    assert records_to_evict(records, now=400.0, cleared_before=250.0, **limits) == ["a", "c"]
    assert records_to_evict(records, now=400.0, cleared_before=200.0, **limits) == ["a", "c"]
    assert records_to_evict(records, now=400.0, cleared_before=99.0, **limits) == []


# -- read-only commands answered from the answers kept (`CommandAnswers`) -----------------------


def test_a_waited_for_job_of_kept_answers_ends_before_start_returns() -> None:
    from app.ceph.state import ClusterState

    osd_stat = {"prefix": "osd stat", "format": "json"}
    mon_stat = {"prefix": "mon stat"}
    write = {"prefix": "osd set", "key": "noup"}

    async def main() -> None:
        clock = FakeClock()
        state = ClusterState(max_age=1.0, stale_after=1.0, clock=clock)
        answers = state.command_answers
        settings = Settings()
        ceph = CephClient(settings)
        ceph.unreachable_since = None  # as if connected: no command reaches it here

        async def ask() -> tuple[int, str, str]:
            return 0, '{"epoch":7}', ""

        await answers.get(osd_stat, ask)
        await answers.get(mon_stat, ask)
        async with open_job_table(
            ceph, settings, clock, read_only=lambda c: c["prefix"] != "osd set", answers=answers
        ) as table:
            job = await table.start([[osd_stat, mon_stat]], "ops", at_once=True)
            assert (job.done, job.state, len(table), table.finished_count) == (
                True,
                "success",
                1,
                1,
            )
            assert [r.to_json() for r in job.finished] == [
                {"command": "osd stat format=json", "outs": "", "outb": '{"epoch":7}', "errno": 0},
                {"command": "mon stat", "outs": "", "outb": '{"epoch":7}', "errno": 0},
            ]
            assert table.get(job.id) is job  # a job of its own, kept like any other
            other = await table.start([[osd_stat]], "ops", at_once=True)
            assert other.id != job.id
            # Not for a caller that does not wait (the module's first wave running), nor
            # for a write, several waves, or a command without an answer kept.
            for waves, at_once in (
                ([[osd_stat]], False),
                ([[osd_stat, write]], True),
                ([[osd_stat], [mon_stat]], True),
                ([[{"prefix": "df"}]], True),
            ):
                pending = await table.start(waves, "ops", at_once=at_once)
                assert (pending.done, pending.state) == (False, "pending")
                table.delete(pending.id)
            clock.now += 1.0  # the answers are too old now
            late = await table.start([[osd_stat]], "ops", at_once=True)
            assert not late.done
            table.delete(late.id)
            table.stop_accepting()

    anyio.run(main)
