"""Schema of /server."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Service(BaseModel):
    """One daemon on a host."""

    model_config = ConfigDict(extra="allow")

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
    """A host and the daemons on it."""

    model_config = ConfigDict(extra="allow")

    hostname: str = Field(description="Host name, as the daemons report it in their metadata.")
    services: list[Service] = Field(description="Daemons on the host, sorted by (type, id).")
    ceph_version: str = Field(
        description="Version of the host's last daemon in that order; empty for no daemons."
    )
