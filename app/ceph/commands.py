"""Mon and mgr commands as the gateway handles them: the module's humanised form, ?page=
slicing, the deny-list, and the cluster's own command table (which commands exist, and which
only read).
"""

from __future__ import annotations

import fnmatch
import json
import re
import time
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import anyio

from app.errors import BadRequest, Forbidden, GatewayError

if TYPE_CHECKING:
    from app.ceph.client import CephClient

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
    # `ls` (and its deprecated twin `list`) take no key: they always list cephgw's keys too.
    "config-key ls",
    "config-key list",
    # The mgr's own commands (a job sends them to the mgr): while the restful module is still
    # enabled these print its plaintext keys (`create-key` of an existing name returns it).
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
    # The glob, compiled once (every POST /request is matched against every rule).
    pattern: re.Pattern[str] = field(compare=False, repr=False)

    @classmethod
    def parse(cls, entry: str) -> DenyRule:
        words = entry.split()
        args = tuple(
            (name, value) for name, _, value in (w.partition("=") for w in words if "=" in w)
        )
        glob = " ".join(w for w in words if "=" not in w)
        if not glob:
            raise ValueError(f"deny-list entry {entry!r} names no command")
        prefix_glob = _normalise_prefix(glob)
        return cls(entry, prefix_glob, args, re.compile(fnmatch.translate(prefix_glob)))

    def matches(self, command: Mapping[str, Any], prefix: str | None = None) -> bool:
        """Whether the rule refuses `command` (`prefix`: its prefix, already normalised)."""
        if prefix is None:
            prefix = _normalise_prefix(str(command.get("prefix", "")))
        if self.pattern.match(prefix) is None:
            return False
        for name, protected in self.args:
            value = command.get(name)
            given = "" if value is None else str(value)
            if not (given.startswith(protected) or protected.startswith(given)):
                return False
        return True


class DenyList(list[DenyRule]):
    """The rules of a deny-list, with one pattern of all their globs: a command whose prefix
    no glob matches (nearly every one) is told so by one regex match, not one per rule (the
    default list has 19, and every POST /request is checked against them)."""

    def __init__(self, rules: Iterable[DenyRule]) -> None:
        super().__init__(rules)
        self.any_prefix = re.compile("|".join(r.pattern.pattern for r in self) or "(?!)")


def parse_deny_list(entries: Iterable[str]) -> DenyList:
    return DenyList(DenyRule.parse(e) for e in entries)


def denied_by(command: Mapping[str, Any], rules: Iterable[DenyRule]) -> DenyRule | None:
    """The first rule refusing `command`, or None."""
    prefix = _normalise_prefix(str(command.get("prefix", "")))
    if isinstance(rules, DenyList) and rules.any_prefix.match(prefix) is None:
        return None
    return next((rule for rule in rules if rule.matches(command, prefix)), None)


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


# -- the cluster's command table ------------------------------------------------------------------

# A command's `perm` in the table: "r" only reads; "w" changes the cluster; "x" runs something
# (`auth get` is "rx": it hands out a key).
READ_ONLY_PERM = "r"
# Commands a read-only key never runs, though the table marks them "r": config-key holds other
# services' secrets (the dashboard's certificate key, for one) that no deny-list can list.
READ_ONLY_REFUSED: tuple[str, ...] = ("config-key *",)
# How long a loaded table is trusted: enabling a mgr module adds commands.
COMMAND_TABLE_TTL = 60.0
# Verdicts of `CommandTable.problem` a table keeps (the most recently asked): ceph_argparse's
# check of one command costs more than the rest of a POST /request's own work.
VERDICTS_KEPT = 1024


def _literal_prefix(signature: Sequence[Any]) -> str:
    """`["osd", "pool", "get", {"name": "pool", ...}]` → `osd pool get`."""
    words: list[str] = []
    for part in signature:
        if not isinstance(part, str):
            break
        words.append(part)
    return " ".join(words)


# A description's flag for a command the mgr serves (the mon passes it on: with no active
# mgr it waits for one; the gateway's jobs send it to the mgr); Ceph's MonCommand::FLAG_MGR.
FLAG_MGR = 8


@dataclass(frozen=True)
class CommandInfo:
    """What the table says of one command prefix (every signature it has, mon's and mgr's)."""

    prefix: str
    perms: frozenset[str]
    served_by_mgr: bool = False

    @property
    def read_only(self) -> bool:
        return self.perms == {READ_ONLY_PERM}


class CommandTable:
    """The mon's and the mgr's command descriptions (`get_command_descriptions`), by prefix."""

    def __init__(self, descriptions: Iterable[Mapping[str, Any]]) -> None:
        perms: dict[str, set[str]] = {}
        by_mgr: set[str] = set()
        self._signatures: dict[str, list[Sequence[Any]]] = {}
        for description in descriptions:
            signature = description.get("sig", ())
            prefix = _literal_prefix(signature)
            if prefix:
                perms.setdefault(prefix, set()).add(str(description.get("perm", "")))
                self._signatures.setdefault(prefix, []).append(signature)
                if int(description.get("flags", 0) or 0) & FLAG_MGR:
                    by_mgr.add(prefix)
        self._commands = {p: CommandInfo(p, frozenset(v), p in by_mgr) for p, v in perms.items()}
        self._parsed: dict[str, list[Any]] = {}  # prefix → ceph_argparse's signatures
        # The command's canonical JSON → `problem`'s verdict: the table never changes (a new
        # one is loaded as a new table), so neither does the verdict on the same command.
        self._verdicts: OrderedDict[str, str | None] = OrderedDict()

    def __len__(self) -> int:
        return len(self._commands)

    def get(self, prefix: str) -> CommandInfo | None:
        return self._commands.get(_normalise_prefix(prefix))

    def problem(self, command: Mapping[str, Any]) -> str | None:
        """Why the cluster would refuse `command` (an unknown prefix, a missing, unknown or
        malformed argument), as the `ceph` CLI finds it: with Debian's python3-ceph-argparse,
        against the same table. None when one of its prefix's signatures takes it.

        Remembered for the VERDICTS_KEPT commands last asked, by their JSON (the same
        arguments in the same order, each value of the same JSON type)."""
        try:
            key = json.dumps(command)
        except (TypeError, ValueError):  # not JSON (only a caller in-process can make one)
            return self._problem(command)
        verdicts = self._verdicts
        if key in verdicts:
            verdicts.move_to_end(key)
            return verdicts[key]
        verdict = verdicts[key] = self._problem(command)
        if len(verdicts) > VERDICTS_KEPT:
            verdicts.popitem(last=False)
        return verdict

    def _problem(self, command: Mapping[str, Any]) -> str | None:
        import ceph_argparse  # Debian's, linked into the venv like rados

        prefix = _normalise_prefix(str(command.get("prefix", "")))
        if prefix not in self._signatures:
            return "no such command in the cluster's command table"
        if prefix not in self._parsed:
            self._parsed[prefix] = [
                ceph_argparse.parse_funcsig(sig) for sig in self._signatures[prefix]
            ]
        words = [*prefix.split(), *_named_arguments(command)]
        reasons: list[str] = []
        for signature in self._parsed[prefix]:
            try:
                ceph_argparse.validate(words, signature)
            except ceph_argparse.ArgumentError as exc:
                reasons.append(str(exc))
            else:
                return None
        return reasons[0]

    def served_by_mgr(self, waves: Iterable[Iterable[Mapping[str, Any]]]) -> str | None:
        """The first command of `waves` that the mgr serves (humanised), or None."""
        for wave in waves:
            for command in wave:
                info = self.get(str(command.get("prefix", "")))
                if info is not None and info.served_by_mgr:
                    return humanize_command(command)
        return None


# Arguments every command takes, which no signature lists: the output format the CLI adds.
_ANY_COMMAND_ARGUMENTS = frozenset({"prefix", "format"})


def _named_arguments(command: Mapping[str, Any]) -> list[str]:
    """A command's arguments as the CLI's `--name=value` words (a list: one word a value)."""
    words: list[str] = []
    for name, value in command.items():
        if name in _ANY_COMMAND_ARGUMENTS:
            continue
        for item in value if isinstance(value, list) else [value]:
            shown = ("true" if item else "false") if isinstance(item, bool) else str(item)
            words.append(f"--{name}={shown}")
    return words


def check_valid(waves: Iterable[Iterable[Mapping[str, Any]]], table: CommandTable) -> None:
    """Raise 400 naming the first command the cluster would refuse; nothing has run yet."""
    for wave in waves:
        for command in wave:
            reason = table.problem(command)
            if reason is not None:
                raise BadRequest(f"'{humanize_command(command)}': {reason}")


def check_read_only(
    waves: Iterable[Iterable[Mapping[str, Any]]], table: CommandTable, key_name: str
) -> None:
    """Raise 403 naming the first command a read-only key may not run; nothing has run yet."""
    reason = read_only_refusal(waves, table, key_name)
    if reason is not None:
        raise Forbidden(reason)


def read_only_refusal(
    waves: Iterable[Iterable[Mapping[str, Any]]], table: CommandTable, key_name: str
) -> str | None:
    """Why a read-only key may not run these commands, or None when every one only reads."""
    refused = parse_deny_list(READ_ONLY_REFUSED)
    for wave in waves:
        for command in wave:
            prefix = str(command.get("prefix", ""))
            info = table.get(prefix)
            shown = humanize_command(command)
            if info is None:
                return (
                    f"key {key_name!r} is read-only and '{shown}' is not in the cluster's command "
                    "table; this needs an admin key"
                )
            if not info.read_only:
                perms = "/".join(sorted(info.perms))
                return (
                    f"key {key_name!r} is read-only and '{shown}' does not only read (the "
                    f"cluster's command table marks '{info.prefix}' {perms}); this needs an "
                    "admin key"
                )
            if denied_by(command, refused) is not None:
                return (
                    f"key {key_name!r} is read-only and '{shown}' reads the config-key store, "
                    "which holds other services' secrets; this needs an admin key"
                )
    return None


async def load_command_table(ceph: CephClient) -> CommandTable:
    """The mon's command descriptions and, when a mgr answers, the mgr's."""
    request = {"prefix": "get_command_descriptions"}
    mon: Any = await ceph.mon_json(request)
    descriptions = list(mon.values()) if isinstance(mon, dict) else []
    try:
        mgr: Any = await ceph.mgr_json(request)
    except GatewayError:  # no active mgr: the mon's table lists the mgr's commands too
        mgr = None
    if isinstance(mgr, dict):
        # The mgr's own descriptions do not flag its commands as the mgr's (the mon's copy of
        # them does, once a mgr told it of them: a new cluster's mon may not have yet).
        descriptions += [
            {**d, "flags": int(d.get("flags", 0) or 0) | FLAG_MGR} for d in mgr.values()
        ]
    return CommandTable(descriptions)


class CommandTableCache:
    """The command table, loaded on first use and again once it is COMMAND_TABLE_TTL old."""

    def __init__(self, ceph: CephClient, ttl: float = COMMAND_TABLE_TTL) -> None:
        self._ceph = ceph
        self._ttl = ttl
        self._table: CommandTable | None = None
        self._loaded_at = 0.0
        self._lock = anyio.Lock()  # one load at a time, however many requests wait for it

    @property
    def loaded(self) -> CommandTable | None:
        """The table as last loaded (None before the first load), without asking the mon."""
        return self._table

    def only_reads(self, command: Mapping[str, Any]) -> bool:
        """Whether the loaded table marks `command` as only reading (False before it loads)."""
        info = self._loaded_info(command)
        return info is not None and info.read_only

    def mgr_serves(self, command: Mapping[str, Any]) -> bool:
        """Whether the loaded table says the mgr serves `command` (False before it loads: the
        mon then passes it on, as it always did)."""
        info = self._loaded_info(command)
        return info is not None and info.served_by_mgr

    def _loaded_info(self, command: Mapping[str, Any]) -> CommandInfo | None:
        return self._table.get(str(command.get("prefix", ""))) if self._table else None

    async def get(self) -> CommandTable:
        table = self._table
        if table is not None and time.monotonic() - self._loaded_at <= self._ttl:
            # Loaded and young: no lock to take (taking it yields to the event loop, twice
            # for each POST /request, which asks for the table twice).
            return table
        async with self._lock:
            if self._table is None or time.monotonic() - self._loaded_at > self._ttl:
                try:
                    self._table = await load_command_table(self._ceph)
                except GatewayError:
                    if self._table is None:
                        raise
                    # Commands rarely change: an old table beats none while the mon is away.
                self._loaded_at = time.monotonic()
            return self._table
