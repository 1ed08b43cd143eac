"""Regenerate the tables of docs/configuration.md from the code (`make docs`).

Two blocks of that page are generated, each between a BEGIN and an END marker line:

* `settings`: one row per field of `app.settings.Settings` (its environment variable, the
  `cephgw` flags that set it, its default, its description);
* `request_deny`: the default deny-list of POST /request (`DEFAULT_DENIED_COMMANDS`).

Everything else on the page is written by hand. tests/unit/test_docs.py fails when a block
is out of date, so a new setting cannot go undocumented.

    .venv/bin/python docs/gen_configuration.py           # rewrite docs/configuration.md
    .venv/bin/python docs/gen_configuration.py --check   # exit 1 when it is out of date

Needs no cluster and no running gateway: it only imports the settings and the CLI parser.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "configuration.md"
ENV_PREFIX = "CEPHGW_"

# Defaults described in words: those computed at start (a default_factory), which would
# otherwise print as whatever they are on this machine, and lists, too long for a cell. A new
# such setting stops this script until it is described here.
DESCRIBED_DEFAULTS = {
    "conf": "`$CEPH_CONF`, else unset",
    "request_deny": "[the commands that hand out secrets](#the-request-deny-list)",
}


def _import_code() -> tuple[type[Any], argparse.ArgumentParser, tuple[str, ...]]:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from app.ceph.commands import DEFAULT_DENIED_COMMANDS
    from app.settings import Settings
    from cli.main import build_parser

    return Settings, build_parser(), DEFAULT_DENIED_COMMANDS


def env_var(field: str) -> str:
    """The environment variable of a setting: `CEPHGW_` and the name in upper case."""
    return ENV_PREFIX + field.upper()


def default_text(name: str, default: Any) -> str:
    """A default as an operator would write it in the environment."""
    if default is None:
        return "unset"
    if isinstance(default, bool):
        return f"`{str(default).lower()}`"
    if isinstance(default, float):
        return f"`{default:g}`"
    if isinstance(default, int) and name.endswith("_bytes") and default >= 1024 * 1024:
        return f"`{default}` ({default // (1024 * 1024)} MiB)"
    return f"`{default}`"


def field_default(name: str, field: Any) -> str:
    if name in DESCRIBED_DEFAULTS:
        return DESCRIBED_DEFAULTS[name]
    if field.default_factory is not None or isinstance(field.default, list | tuple | dict):
        raise SystemExit(
            f"setting {name!r}: describe its default in DESCRIBED_DEFAULTS of {Path(__file__).name}"
        )
    return default_text(name, field.default)


def flags_by_field(parser: argparse.ArgumentParser, fields: set[str]) -> dict[str, str]:
    """`--flag` (commands) for every setting a `cephgw` flag sets."""
    commands: dict[str, argparse.ArgumentParser] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            commands = dict(action.choices)
    found: dict[str, dict[tuple[str, ...], list[str]]] = {}
    for command, sub in commands.items():
        for action in sub._actions:
            if action.dest in fields and action.option_strings:
                by_flags = found.setdefault(action.dest, {})
                by_flags.setdefault(tuple(action.option_strings), []).append(command)
    with_cluster = sorted(c for c, sub in commands.items() if _has_conf_flag(sub))
    out: dict[str, str] = {}
    for dest, by_flags in found.items():
        parts = []
        for flags, where in by_flags.items():
            names = ", ".join(f"`{f}`" for f in flags)
            scope = "every command" if sorted(where) == with_cluster else ", ".join(where)
            parts.append(f"{names} ({scope})")
        out[dest] = "; ".join(parts)
    return out


def _has_conf_flag(sub: argparse.ArgumentParser) -> bool:
    return any(a.dest == "conf" for a in sub._actions)


def _cell(text: str) -> str:
    """One table cell: one line, pipes escaped, `<name>` shown rather than read as HTML."""
    text = " ".join(text.split()).replace("|", "\\|")
    return text.replace("<", "&lt;").replace(">", "&gt;")


def settings_table() -> str:
    settings, parser, _ = _import_code()
    fields = settings.model_fields
    flags = flags_by_field(parser, set(fields))
    rows = [
        "| setting | environment variable | `cephgw` flag | default | what it does |",
        "|---|---|---|---|---|",
    ]
    for name, field in fields.items():
        rows.append(
            f"| `{name}` | `{env_var(name)}` | {flags.get(name, '—')} | "
            f"{field_default(name, field)} | {_cell(field.description or '')} |"
        )
    return "\n".join(rows)


def deny_list() -> str:
    _, _, denied = _import_code()
    return "\n".join(f"* `{entry}`" for entry in denied)


BLOCKS = {"settings": settings_table, "request_deny": deny_list}


def begin(block: str) -> str:
    return f"<!-- BEGIN generated: {block} (make docs; do not edit by hand) -->"


def end(block: str) -> str:
    return f"<!-- END generated: {block} -->"


def render(page: str) -> str:
    """`page` with every generated block replaced by what the code says now."""
    for block, make in BLOCKS.items():
        start, stop = begin(block), end(block)
        if page.count(start) != 1 or page.count(stop) != 1:
            raise SystemExit(f"{PAGE.name}: needs exactly one {start!r} and one {stop!r}")
        head, rest = page.split(start, 1)
        _, tail = rest.split(stop, 1)
        page = f"{head}{start}\n{make()}\n{stop}{tail}"
    return page


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="only check; exit 1 if stale")
    args = parser.parse_args(argv)
    current = PAGE.read_text()
    fresh = render(current)
    if args.check:
        if fresh != current:
            print(f"{PAGE} is out of date: run `make docs`", file=sys.stderr)
            return 1
        return 0
    if fresh != current:
        PAGE.write_text(fresh)
        print(f"updated {PAGE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
