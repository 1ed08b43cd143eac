"""Schema of /server."""

from __future__ import annotations

from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field

PACIFIC: Final = "ceph version 16.2.15 (618f440892089921c3e944a991122ddc44e60516) pacific (stable)"
# The module's GET /server/vm on a test cluster, one OSD of three kept; and an rgw daemon
# of the service map, whose id is its gid and whose name is its own.
SERVICE_EXAMPLES: Final[list[Any]] = [
    {"type": "mgr", "id": "x", "ceph_version": PACIFIC},
    {"type": "mon", "id": "a", "ceph_version": PACIFIC},
    {"type": "osd", "id": "0", "ceph_version": PACIFIC},
    {"type": "rgw", "id": "4235", "ceph_version": PACIFIC, "name": "gw1"},
]
SERVER_EXAMPLE: Final[dict[str, Any]] = {
    "hostname": "vm",
    "services": SERVICE_EXAMPLES[:3],
    "ceph_version": PACIFIC,
}


class Service(BaseModel):
    """One daemon on a host."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": SERVICE_EXAMPLES})

    type: str = Field(description="Daemon type: mon, mgr, osd, mds, rgw, rbd-mirror, ...")
    id: str = Field(description="Daemon id within its type (a string, also for OSDs).")
    ceph_version: str = Field(
        description="The daemon's `ceph version` string (the previous daemon's when unknown)."
    )
    name: str | None = Field(
        default=None,
        description="Service daemons only (e.g. rgw): their name, when the id is a gid.",
    )


class Server(BaseModel):
    """A host and the daemons on it, as the mgr indexes them: from the mon, mgr, OSD and MDS
    metadata and the mgr's service map (rgw, rbd-mirror...)."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [SERVER_EXAMPLE]})

    hostname: str = Field(description="Host name, as the daemons report it in their metadata.")
    services: list[Service] = Field(description="Daemons on the host, sorted by (type, id).")
    ceph_version: str = Field(
        description="Version of the host's last daemon in that order; empty for no daemons."
    )
