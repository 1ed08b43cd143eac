"""Schemas of /config."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import ConfigDict, Field, RootModel

from app.models.common import ArgumentsBody, optional_args_schema


class ClusterConfig(RootModel[dict[str, str]]):
    """The active mgr's configuration: every option name → its value as a string, plus
    `name` (the mgr's, e.g. mgr.x) and `cluster`."""

    model_config = ConfigDict(
        json_schema_extra={
            # A few of the ~1800 options of tests/support/samples/GET_config_cluster.json.
            "examples": [
                {
                    "name": "mgr.x",
                    "cluster": "ceph",
                    "fsid": "63529122-935f-47ea-b1af-37e8b17c8ea6",
                    "mon_host": "[v2:127.0.0.1:3300,v1:127.0.0.1:6789]",
                    "auth_cluster_required": "cephx",
                    "osd_pool_default_size": "1",
                    "osd_pool_default_pg_num": "32",
                    "mon_allow_pool_delete": "true",
                }
            ]
        }
    )


class ConfigOptionValue(RootModel[str]):
    """One option of the active mgr's configuration: its value, always a JSON string."""

    model_config = ConfigDict(json_schema_extra={"examples": ["1", "cephx", "true"]})


class OsdFlags(RootModel[list[str]]):
    """OSD map flags in map order, `pauserd,pausewr` shown as `pause`; `[""]` when none."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [["sortbitwise", "recovery_deletes", "purged_snapdirs", "pglog_hardlimit"]]
        }
    )


def _osd_flags_schema(schema: dict[str, Any]) -> None:
    optional_args_schema({"noout": True, "pause": False})(schema)
    # Other keys are answered with 400 (not 422): the schema shows them as not allowed.
    schema["additionalProperties"] = False


_FlagValue = Annotated[bool, Field(strict=True)] | None


class OsdFlagsUpdate(ArgumentsBody):
    """PATCH /config/osd: flags to set (true) or unset (false); the others stay as they are."""

    # Unknown keys are let through here and refused by the route with a 400 naming them.
    model_config = ConfigDict(extra="allow", json_schema_extra=_osd_flags_schema)

    pause: _FlagValue = Field(default=None, description="Pause reads and writes (pauserd,pausewr).")
    noup: _FlagValue = Field(default=None, description="OSDs may not be marked up.")
    nodown: _FlagValue = Field(default=None, description="OSDs may not be marked down.")
    noout: _FlagValue = Field(default=None, description="OSDs are not marked out when down.")
    noin: _FlagValue = Field(default=None, description="Booting OSDs are not marked in.")
    nobackfill: _FlagValue = Field(default=None, description="Backfill is suspended.")
    norecover: _FlagValue = Field(default=None, description="Recovery is suspended.")
    noscrub: _FlagValue = Field(default=None, description="Scrubbing is disabled.")
    nodeep_scrub: _FlagValue = Field(
        default=None, alias="nodeep-scrub", description="Deep scrubbing is disabled."
    )

    def flags(self) -> dict[str, Any]:
        """Every key given, by its name in the body (unknown ones too, to be refused)."""
        # Not `model_dump(exclude_unset=True)`: an extra key spelt like a field's Python name
        # (`nodeep_scrub`) counts that field as set. A field left out is None (null is refused).
        given = {
            field.alias or name: getattr(self, name)
            for name, field in type(self).model_fields.items()
            if getattr(self, name) is not None
        }
        return {**given, **(self.model_extra or {})}
