"""Schemas of /osd."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, RootModel


class Osd(BaseModel):
    """An OSD as in the OSD map (`osd dump`), plus the module's own keys (pools, server,
    reweight, valid_commands); Ceph's other OSD fields (uuid, *_addrs...) pass through."""

    # `in` is a Python keyword: the field is `in_`, read and written as "in".
    model_config = ConfigDict(extra="allow")

    osd: int = Field(description="OSD id.")
    uuid: str = Field(description="OSD fsid (uuid given at creation).")
    up: int = Field(description="1 when the OSD is up (running and reachable), else 0.")
    in_: int = Field(alias="in", description="1 when the OSD is in (holds data), else 0.")
    weight: float = Field(description="OSD map weight (in/out weight), 0.0 to 1.0.")
    reweight: float = Field(description="Override weight from `osd reweight`, 0.0 to 1.0.")
    primary_affinity: float = Field(description="Likelihood of being chosen primary, 0.0 to 1.0.")
    pools: list[int] = Field(description="Ids of the pools whose CRUSH rule can reach this OSD.")
    server: str | None = Field(description="Host name from the OSD's metadata; null without.")
    valid_commands: list[str] = Field(
        description="Commands one may run on it now: scrub, deep-scrub, repair when up."
    )
    state: list[str] = Field(description="OSD map states, e.g. exists, up.")
    public_addr: str = Field(description="Public (client) address, legacy form ip:port/nonce.")
    cluster_addr: str = Field(description="Cluster (replication) address, legacy form.")
    heartbeat_back_addr: str = Field(description="Back heartbeat address, legacy form.")
    heartbeat_front_addr: str = Field(description="Front heartbeat address, legacy form.")


class OsdCommands(RootModel[list[str]]):
    """The commands one may run on the OSD: scrub, deep-scrub and repair when up, none when
    down."""
