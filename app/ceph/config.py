"""Ceph calls and pure shaping for /config: the active mgr's options and the OSD map flags."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import TypeAdapter

from app.ceph.client import CephClient
from app.ceph.state import Answer, answer
from app.errors import BadRequest, NotFound, ServiceUnavailable
from app.models.config import ClusterConfig, ConfigOptionValue, OsdFlags, OsdFlagsUpdate

if TYPE_CHECKING:
    from app.ceph.maps import ClusterMaps

CLUSTER_CONFIG = TypeAdapter(ClusterConfig)
CONFIG_OPTION = TypeAdapter(ConfigOptionValue)
OSD_FLAG_LIST = TypeAdapter(OsdFlags)


def osd_flags(flags: str) -> list[str]:
    """The OSD map's `flags` string as the module lists it.

    `pause` sets both pauserd and pausewr, which the map prints side by side (bit order);
    the module shows the one flag a client can set. Like the module, no flags gives `[""]`.
    """
    return flags.replace("pauserd,pausewr", "pause").split(",")


def active_mgr_name(mgr_stat: Mapping[str, Any]) -> str:
    """The active mgr's name from `mgr stat`; 503 when there is none (nothing to ask)."""
    # `available` may be false while a new active mgr loads its modules; its admin commands,
    # `config show` among them, answer already, so only a missing name is fatal.
    name = mgr_stat.get("active_name") or ""
    if not name:
        raise ServiceUnavailable("no active mgr: its configuration cannot be read")
    return str(name)


def config_option(config: Mapping[str, str], key: str) -> str:
    """One option of a `config show` dict; 404 for an unknown option (the module: `null`)."""
    try:
        return config[key]
    except KeyError:
        raise NotFound(f'Failed to identify the configuration option "{key}"') from None


async def cluster_config(ceph: CephClient) -> dict[str, str]:
    """The active mgr's own configuration (every option as a string, plus name and cluster).

    The module served its mgr's in-memory config; `config show` told to that same mgr
    returns the identical dict, with metavariables ($name, $id...) already expanded.
    """
    mgr_stat = await ceph.mon_json({"prefix": "mgr stat"})
    config: dict[str, str] = await ceph.mgr_json(
        {"prefix": "config show"}, target=active_mgr_name(mgr_stat)
    )
    return config


async def get_cluster_config(maps: ClusterMaps) -> Answer:
    """The active mgr's configuration."""
    reading = await maps.mgr_config.get()
    return answer(reading, "config", lambda: reading.value, CLUSTER_CONFIG)


async def get_cluster_config_option(maps: ClusterMaps, key: str) -> Answer:
    """One option of the active mgr's configuration; 404 when there is no such option."""
    reading = await maps.mgr_config.get()
    value = config_option(reading.value, key)
    return answer(reading, ("option", key), lambda: value, CONFIG_OPTION)


async def list_osd_flags(maps: ClusterMaps) -> Answer:
    """The OSD map flags."""
    reading = await maps.osd.get()
    return answer(
        reading, "flags", lambda: osd_flags(reading.value.dump.get("flags", "")), OSD_FLAG_LIST
    )


# -- writes: the module's commands, as waves of a job ------------------------------------------

# The flags the module lets a client set and unset (its OSD_FLAGS), in the order of the body's
# schema; `pause` is pauserd+pausewr.
OSD_FLAGS: tuple[str, ...] = tuple(
    field.alias or name for name, field in OsdFlagsUpdate.model_fields.items()
)


def osd_flag_commands(flags: Mapping[str, bool]) -> list[list[dict[str, Any]]]:
    """PATCH /config/osd: `osd set` (true) or `osd unset` (false) for each flag, in one wave
    in OSD_FLAGS order. An unknown flag is a 400 naming every one (the module only logged
    them and applied the rest); nothing is applied then."""
    unknown = [flag for flag in flags if flag not in OSD_FLAGS]
    if unknown:
        names = ", ".join(f'"{flag}"' for flag in unknown)
        raise BadRequest(
            f"Unknown OSD flag(s) {names}: not valid to set/unset "
            f"(valid: {', '.join(OSD_FLAGS)}); nothing was applied"
        )
    return [
        [
            {"prefix": "osd set" if flags[flag] else "osd unset", "key": flag}
            for flag in OSD_FLAGS
            if flag in flags
        ]
    ]
