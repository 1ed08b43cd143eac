"""Schemas of /osd."""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel

from app.models.common import AddrVec, ArgumentsBody, optional_args_schema

# The module's GET /osd/0 on a 3-OSD test cluster (Pacific).
OSD_EXAMPLE: Final[dict[str, Any]] = {
    "osd": 0,
    "uuid": "0fff92b7-b71b-4a6b-9568-48b4f4b4a2b4",
    "up": 1,
    "in": 1,
    "weight": 1.0,
    "primary_affinity": 1.0,
    "last_clean_begin": 0,
    "last_clean_end": 0,
    "up_from": 5,
    "up_thru": 12,
    "down_at": 0,
    "lost_at": 0,
    "public_addrs": {
        "addrvec": [
            {"type": "v2", "addr": "127.0.0.1:6800", "nonce": 4978},
            {"type": "v1", "addr": "127.0.0.1:6801", "nonce": 4978},
        ]
    },
    "cluster_addrs": {
        "addrvec": [
            {"type": "v2", "addr": "127.0.0.1:6802", "nonce": 4978},
            {"type": "v1", "addr": "127.0.0.1:6803", "nonce": 4978},
        ]
    },
    "heartbeat_back_addrs": {
        "addrvec": [
            {"type": "v2", "addr": "127.0.0.1:6806", "nonce": 4978},
            {"type": "v1", "addr": "127.0.0.1:6807", "nonce": 4978},
        ]
    },
    "heartbeat_front_addrs": {
        "addrvec": [
            {"type": "v2", "addr": "127.0.0.1:6804", "nonce": 4978},
            {"type": "v1", "addr": "127.0.0.1:6805", "nonce": 4978},
        ]
    },
    "public_addr": "127.0.0.1:6801/4978",
    "cluster_addr": "127.0.0.1:6803/4978",
    "heartbeat_back_addr": "127.0.0.1:6807/4978",
    "heartbeat_front_addr": "127.0.0.1:6805/4978",
    "state": ["exists", "up"],
    "pools": [1],
    "server": "vm",
    "reweight": 1.0,
    "valid_commands": ["scrub", "deep-scrub", "repair"],
}


class Osd(BaseModel):
    """An OSD as in the OSD map (`osd dump`), plus the module's own keys: `pools`, `server`,
    `reweight` and `valid_commands`; Ceph's other OSD fields pass through."""

    # `in` is a Python keyword: the field is `in_`, read and written as "in".
    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [OSD_EXAMPLE]})

    osd: int = Field(description="OSD id.")
    uuid: str = Field(description="OSD fsid (uuid given at creation).")
    up: int = Field(description="1 when the OSD is up (running and reachable), else 0.")
    in_: int = Field(alias="in", description="1 when the OSD is in (holds data), else 0.")
    weight: float = Field(description="OSD map weight (in/out weight), 0.0 to 1.0.")
    reweight: float = Field(
        description="Override weight from `osd reweight` (`osd tree`), 0.0 to 1.0."
    )
    primary_affinity: float = Field(description="Likelihood of being chosen primary, 0.0 to 1.0.")
    pools: list[int] = Field(description="Ids of the pools whose CRUSH rule can reach this OSD.")
    server: str | None = Field(description="Host name from the OSD's metadata; null without.")
    valid_commands: list[str] = Field(
        description="Commands one may run on it now: scrub, deep-scrub, repair when up."
    )
    state: list[str] = Field(description="OSD map states, e.g. exists, up, destroyed, new.")
    up_from: int = Field(description="OSD map epoch the OSD last came up in.")
    up_thru: int = Field(description="Epoch the mons know the OSD stayed up through (peering).")
    down_at: int = Field(description="OSD map epoch the OSD last went down in (0: never).")
    last_clean_begin: int = Field(description="First epoch of the OSD's last clean interval.")
    last_clean_end: int = Field(description="Last epoch of the OSD's last clean interval.")
    lost_at: int = Field(description="OSD map epoch it was marked lost in (0: never).")
    public_addrs: AddrVec = Field(description="Public (client) addresses, v2 and v1.")
    cluster_addrs: AddrVec = Field(description="Cluster (replication) addresses, v2 and v1.")
    heartbeat_back_addrs: AddrVec = Field(description="Back (cluster side) heartbeat addresses.")
    heartbeat_front_addrs: AddrVec = Field(description="Front (public side) heartbeat addresses.")
    public_addr: str = Field(description="Public (client) address, legacy form ip:port/nonce.")
    cluster_addr: str = Field(description="Cluster (replication) address, legacy form.")
    heartbeat_back_addr: str = Field(description="Back heartbeat address, legacy form.")
    heartbeat_front_addr: str = Field(description="Front heartbeat address, legacy form.")


class OsdCommands(RootModel[list[str]]):
    """The commands one may run on the OSD: scrub, deep-scrub and repair when up, none when
    down."""

    model_config = ConfigDict(json_schema_extra={"examples": [["scrub", "deep-scrub", "repair"]]})


# -- request bodies ----------------------------------------------------------------------------


class OsdUpdate(ArgumentsBody):
    """PATCH /osd/{id}: mark the OSD in or out, down, or reweight it; what is left out stays."""

    # `in` is a Python keyword: the field is `in_`, read as "in". The example is a change the
    # route makes (out with a reweight is a 400).
    model_config = ConfigDict(json_schema_extra=optional_args_schema({"in": True, "reweight": 0.8}))

    in_: Annotated[bool, Field(strict=True)] | None = Field(
        default=None, alias="in", description="true: mark the OSD in; false: mark it out."
    )
    up: Annotated[bool, Field(strict=True)] | None = Field(
        default=None,
        description=(
            "false: mark the OSD down (a running OSD reports itself up again); true is "
            "refused with 400, only the OSD itself can come up."
        ),
    )
    reweight: Annotated[float, Field(strict=True, ge=0.0, le=1.0)] | None = Field(
        default=None, description="Override weight (`osd reweight`), 0.0 to 1.0."
    )

    def changes(self) -> dict[str, Any]:
        """The changes given, keyed as in the body (in, up, reweight)."""
        return self.model_dump(exclude_unset=True, by_alias=True)


# The commands the module lets a client run on an up OSD (POST /osd/{id}/command).
OsdCommandName = Literal["scrub", "deep-scrub", "repair"]


class OsdCommand(BaseModel):
    """POST /osd/{id}/command: the command to run on the (up) OSD."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"command": "scrub"}]}
    )

    command: OsdCommandName = Field(description="What to run; the OSD must be up (else 409).")
