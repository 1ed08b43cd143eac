"""Schemas of /config."""

from __future__ import annotations

from pydantic import RootModel


class ClusterConfig(RootModel[dict[str, str]]):
    """The active mgr's configuration: every option name → its value as a string, plus
    `name` (the mgr's, e.g. mgr.x) and `cluster`."""


class OsdFlags(RootModel[list[str]]):
    """OSD map flags in map order, `pauserd,pausewr` shown as `pause`; `[""]` when none."""
