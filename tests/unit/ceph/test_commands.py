"""The command table's pure parts: prefixes, read-only commands, the read-only refusal, and
the validation of a command against the table."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import anyio
import pytest

from app.ceph.client import CephClient
from app.ceph.commands import (
    CommandTable,
    CommandTableCache,
    check_read_only,
    check_valid,
    humanize_command,
    read_only_refusal,
)
from app.errors import BadRequest, Forbidden, ServiceUnavailable
from app.settings import Settings
from tests.support import load_sample

# Entries as `get_command_descriptions` gives them (Pacific's, trimmed).
DESCRIPTIONS: list[dict[str, Any]] = [
    {"sig": ["status"], "perm": "r", "flags": 0},
    {"sig": ["pg", "dump", {"name": "dumpcontents", "type": "CephChoices"}], "perm": "r"},
    {"sig": ["osd", "pool", "get", {"name": "pool", "type": "CephPoolname"}], "perm": "r"},
    {"sig": ["osd", "pool", "set", {"name": "pool", "type": "CephPoolname"}], "perm": "rw"},
    {"sig": ["auth", "get", {"name": "entity", "type": "CephString"}], "perm": "rx"},
    {"sig": ["config-key", "get", {"name": "key", "type": "CephString"}], "perm": "r"},
    # The same prefix twice (mon and mgr tables), once not read-only: not read-only.
    {"sig": ["osd", "perf"], "perm": "r"},
    {"sig": ["osd", "perf"], "perm": "rw"},
]


@pytest.fixture
def table() -> CommandTable:
    return CommandTable(DESCRIPTIONS)


def test_prefixes_are_the_literal_words_of_a_signature(table: CommandTable) -> None:
    assert len(table) == 7
    info = table.get("osd pool get")
    assert info is not None
    assert info.read_only
    assert table.get("  OSD   pool get ") == info  # as the deny-list normalises prefixes
    assert table.get("osd pool") is None


def test_read_only_is_every_signature_only_reading(table: CommandTable) -> None:
    only_read = {"status", "pg dump", "osd pool get", "config-key get"}
    for prefix in ("status", "pg dump", "osd pool get", "osd pool set", "auth get", "osd perf"):
        info = table.get(prefix)
        assert info is not None
        assert info.read_only is (prefix in only_read), prefix


def test_a_read_only_key_may_run_waves_that_only_read(table: CommandTable) -> None:
    waves = [[{"prefix": "status"}, {"prefix": "pg dump"}], [{"prefix": "osd pool get"}]]
    assert read_only_refusal(waves, table, "zabbix") is None
    check_read_only(waves, table, "zabbix")


@pytest.mark.parametrize(
    ("command", "reason"),
    [
        ({"prefix": "osd pool set", "pool": "p"}, "marks 'osd pool set' rw"),
        ({"prefix": "auth get", "entity": "client.admin"}, "marks 'auth get' rx"),
        ({"prefix": "osd perf"}, "marks 'osd perf' r/rw"),
        ({"prefix": "nope"}, "is not in the cluster's command table"),
        ({"prefix": "config-key get", "key": "mgr/dashboard/key"}, "reads the config-key store"),
    ],
)
def test_anything_else_is_refused_naming_the_command(
    table: CommandTable, command: dict[str, Any], reason: str
) -> None:
    waves = [[{"prefix": "status"}], [command]]
    with pytest.raises(Forbidden) as refused:
        check_read_only(waves, table, "zabbix")
    assert refused.value.message.startswith("key 'zabbix' is read-only and '")
    assert reason in refused.value.message
    assert refused.value.status_code == 403


# -- validation, as the `ceph` CLI validates (Pacific's recorded table, Debian's ceph_argparse)


@pytest.fixture(scope="module")
def pacific() -> CommandTable:
    return CommandTable(load_sample("get_command_descriptions.pacific.json").values())


@pytest.mark.parametrize(
    "command",
    [
        {"prefix": "status", "format": "json"},
        {"prefix": "osd pool get", "pool": "rbd", "var": "size"},
        {"prefix": "osd pool create", "pool": "p", "pg_num": 8},
        {
            "prefix": "osd pool delete",
            "pool": "p",
            "pool2": "p",
            "yes_i_really_really_mean_it": True,
        },
        {"prefix": "osd out", "ids": ["0", "1"]},
        {"prefix": "osd reweight", "id": 0, "weight": 0.5},
        {"prefix": "osd blocklist", "blocklistop": "add", "addr": "192.0.2.1:0/7", "expire": 30.0},
        {"prefix": "config-key set", "key": "a/b", "val": "x=y z"},
        {"prefix": "auth caps", "entity": "client.x", "caps": ["mon", "allow r"]},
        {"prefix": "pg dump"},  # a mgr command: the mon's table lists it too
        {"prefix": "  osd   stat "},  # the prefix as the deny-list normalises it
    ],
)
def test_commands_the_cli_takes_are_valid(pacific: CommandTable, command: dict[str, Any]) -> None:
    assert pacific.problem(command) is None
    check_valid([[command]], pacific)


@pytest.mark.parametrize(
    ("command", "reason"),
    [
        ({"prefix": "no such command"}, "no such command in the cluster's command table"),
        ({"prefix": "osd pool get", "var": "size"}, "missing required parameter pool(<poolname>)"),
        (
            {"prefix": "osd pool create", "pool": "p", "pg_num": "many"},
            "many doesn't represent an int",
        ),
        ({"prefix": "osd pool get", "pool": "p", "var": "bogus"}, "bogus not in size|min_size|"),
        ({"prefix": "osd stat", "colour": "blue"}, "unused arguments: ['--colour=blue']"),
        ({"prefix": "osd set", "key": "sleepy"}, "sleepy not in "),
    ],
)
def test_what_the_cli_would_refuse_is_a_400_naming_it(
    pacific: CommandTable, command: dict[str, Any], reason: str
) -> None:
    problem = pacific.problem(command)
    assert problem is not None
    assert problem.startswith(reason), problem
    with pytest.raises(BadRequest) as refused:
        check_valid([[{"prefix": "status"}], [{"prefix": "df"}, command]], pacific)
    assert refused.value.status_code == 400
    assert refused.value.message == f"'{humanize_command(command)}': {problem}"


def test_the_commands_the_mgr_serves_are_known_by_their_flag(pacific: CommandTable) -> None:
    mon_only = [[{"prefix": "status"}], [{"prefix": "osd stat"}, {"prefix": "df"}]]
    assert pacific.served_by_mgr(mon_only) is None
    with_mgr = [*mon_only, [{"prefix": "osd perf"}, {"prefix": "pg dump", "format": "json"}]]
    assert pacific.served_by_mgr(with_mgr) == "osd perf"
    served = {p: getattr(pacific.get(p), "served_by_mgr", None) for p in ("osd df", "osd tree")}
    assert served == {"osd df": True, "osd tree": False}


class _Tables(CephClient):
    """The mon's command table of a Pacific cluster, and no active mgr to ask for its own."""

    async def mon_json(self, command: Mapping[str, Any], target: str | None = None) -> Any:
        return load_sample("get_command_descriptions.pacific.json")

    async def mgr_json(self, command: Mapping[str, Any], target: str | None = None) -> Any:
        raise ServiceUnavailable("no mgr is active")


def test_the_loaded_table_tells_a_job_which_commands_go_to_the_mgr() -> None:
    async def main() -> None:
        cache = CommandTableCache(_Tables(Settings()))
        # Before the table loads, every command goes to a mon, which passes the mgr's on.
        assert not cache.mgr_serves({"prefix": "osd perf"})
        await cache.get()
        assert cache.mgr_serves({"prefix": "osd perf"})
        assert cache.mgr_serves({"prefix": "pg dump", "format": "json"})
        assert cache.mgr_serves({"prefix": "osd scrub", "who": "0"})
        assert not cache.mgr_serves({"prefix": "osd stat"})
        assert not cache.mgr_serves({"prefix": "no such command"})

    anyio.run(main)


class _CountedTables(_Tables):
    asked = 0

    async def mon_json(self, command: Mapping[str, Any], target: str | None = None) -> Any:
        self.asked += 1
        return await super().mon_json(command, target)


def test_the_table_is_loaded_once_until_it_is_ttl_old() -> None:
    async def main() -> None:
        young = _CountedTables(Settings())
        cache = CommandTableCache(young, ttl=3600)
        tables = [await cache.get() for _ in range(3)]
        assert young.asked == 1
        assert tables[0] is tables[1] is tables[2]
        old = _CountedTables(Settings())
        cache = CommandTableCache(old, ttl=0)
        await cache.get()
        await anyio.sleep(0.01)
        await cache.get()
        assert old.asked == 2  # past its TTL: loaded again

    anyio.run(main)


def _pacific() -> CommandTable:
    """A table of its own (the module's `pacific` has the other tests' verdicts)."""
    return CommandTable(load_sample("get_command_descriptions.pacific.json").values())


def test_a_verdict_is_reached_once_a_command(monkeypatch: pytest.MonkeyPatch) -> None:
    import ceph_argparse

    pacific = _pacific()
    checks: list[list[str]] = []
    validate = ceph_argparse.validate

    def counted(words: list[str], signature: Any) -> Any:
        checks.append(words)
        return validate(words, signature)

    monkeypatch.setattr(ceph_argparse, "validate", counted)
    good = {"prefix": "osd pool get", "pool": "rbd", "var": "size"}
    bad = {"prefix": "osd pool get", "pool": "rbd", "var": "bogus"}
    for _ in range(3):
        assert pacific.problem(good) is None
        assert (pacific.problem(bad) or "").startswith("bogus not in ")
    asked = len(checks)
    assert asked == 2  # one signature each
    # Another JSON type (or another value) is another command: judged on its own.
    assert pacific.problem({"prefix": "osd reweight", "id": 0, "weight": 0.5}) is None
    assert pacific.problem({"prefix": "osd reweight", "id": 0, "weight": "heavy"}) is not None
    assert len(checks) > asked
    # A new table (a reload) judges again.
    fresh = _pacific()
    before = len(checks)
    assert fresh.problem(good) is None
    assert len(checks) > before


def test_verdicts_kept_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    from app.ceph import commands

    pacific = _pacific()
    monkeypatch.setattr(commands, "VERDICTS_KEPT", 4)
    for n in range(10):
        assert pacific.problem({"prefix": "osd pool get", "pool": f"p{n}", "var": "size"}) is None
    assert len(pacific._verdicts) == 4
