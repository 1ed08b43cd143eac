"""The command table's pure parts: prefixes, read-only commands, and the read-only refusal."""

from __future__ import annotations

from typing import Any

import pytest

from app.ceph.commands import CommandTable, check_read_only, read_only_refusal
from app.errors import Forbidden

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
