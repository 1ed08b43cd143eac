"""Pure code of /request: the module's humanised commands, ?page= slicing, and the deny-list.

No Ceph calls live here: jobs run their commands through `app.jobs.JobTable`.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from app.errors import Forbidden

T = TypeVar("T")

PAGE_SIZE = 100

# The commands that hand out secrets (cephx keys, cephgw's key hashes). An entry is a
# command-prefix glob, optionally followed by `arg=PREFIX`: the entry then only matches
# when the argument's value and PREFIX overlap (one starts with the other; a missing
# argument is the empty string, which overlaps everything).
DEFAULT_DENIED_COMMANDS: tuple[str, ...] = (
    "auth get",
    "auth export",
    "auth get-key",
    "auth print-key",
    "auth print_key",
    "auth get-or-create*",
    # These print every entity's key, which `auth get` alone would not stop.
    "auth ls",
    "auth list",
    "fs authorize",
    # cephgw's own key store (app/auth.py KEY_PREFIX).
    "config-key get key=cephgw/keys/",
    "config-key exists key=cephgw/keys/",
    "config-key dump key=cephgw/keys/",
    # `ls` takes no key: it always lists cephgw's keys too.
    "config-key ls",
    # The mon passes mgr commands on: while the restful module is still enabled these print
    # its plaintext keys (`create-key` of an existing name returns that key).
    "restful list-keys",
    "restful create-key",
    # The module's legacy plaintext keys and the TLS private keys live under mgr/restful/.
    "config-key get key=mgr/restful/",
    "config-key exists key=mgr/restful/",
    "config-key dump key=mgr/restful/",
)


def humanize_command(command: Mapping[str, Any]) -> str:
    """The module's form of a command: `prefix key=value ...`, every other argument in order.

    `{"prefix": "osd pool set", "pool": "x"}` → `osd pool set pool=x`. A `format` the caller
    gave is kept, as the module did (`osd stat format=json`).
    """
    out = [str(command.get("prefix", ""))]
    out += [f"{arg}={val}" for arg, val in command.items() if arg != "prefix"]
    return " ".join(out)


def paginate(items: Sequence[T], page: int | None) -> list[T]:
    """The module's `?page=N`: 100 items a page, 0 the first; no page means everything.

    Negative pages count from the end: -1 is the last 100 items (fewer when there are
    fewer), -2 the 100 before those. A page past either end is empty.
    """
    if page is None:
        return list(items)
    if page >= 0:
        start = page * PAGE_SIZE
        return list(items[start : start + PAGE_SIZE])
    end = len(items) + (page + 1) * PAGE_SIZE
    if end <= 0:
        return []
    return list(items[max(0, end - PAGE_SIZE) : end])


def _normalise_prefix(prefix: str) -> str:
    return " ".join(prefix.split()).lower()


@dataclass(frozen=True)
class DenyRule:
    """One deny-list entry, parsed: a prefix glob and the argument prefixes it also needs."""

    entry: str
    prefix_glob: str
    args: tuple[tuple[str, str], ...]

    @classmethod
    def parse(cls, entry: str) -> DenyRule:
        words = entry.split()
        args = tuple(
            (name, value) for name, _, value in (w.partition("=") for w in words if "=" in w)
        )
        glob = " ".join(w for w in words if "=" not in w)
        if not glob:
            raise ValueError(f"deny-list entry {entry!r} names no command")
        return cls(entry=entry, prefix_glob=_normalise_prefix(glob), args=args)

    def matches(self, command: Mapping[str, Any]) -> bool:
        prefix = _normalise_prefix(str(command.get("prefix", "")))
        if not fnmatch.fnmatchcase(prefix, self.prefix_glob):
            return False
        for name, protected in self.args:
            value = command.get(name)
            given = "" if value is None else str(value)
            if not (given.startswith(protected) or protected.startswith(given)):
                return False
        return True


def parse_deny_list(entries: Iterable[str]) -> list[DenyRule]:
    return [DenyRule.parse(e) for e in entries]


def denied_by(command: Mapping[str, Any], rules: Iterable[DenyRule]) -> DenyRule | None:
    """The first rule refusing `command`, or None."""
    return next((rule for rule in rules if rule.matches(command)), None)


def check_not_denied(
    waves: Iterable[Iterable[Mapping[str, Any]]], rules: Sequence[DenyRule]
) -> None:
    """Raise 403 naming the first refused command of any wave; nothing has run yet."""
    for wave in waves:
        for command in wave:
            rule = denied_by(command, rules)
            if rule is not None:
                raise Forbidden(
                    f"the command '{humanize_command(command)}' is refused by the gateway's "
                    f"deny-list (entry '{rule.entry}'): it would hand out secrets"
                )
