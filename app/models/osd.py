"""Schemas of /osd."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel, field_validator

from app.models.pool import no_null, optional_args_schema


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


# -- request bodies ----------------------------------------------------------------------------


class OsdUpdate(BaseModel):
    """PATCH /osd/{id}: mark the OSD in or out, down, or reweight it; what is left out stays."""

    # `in` is a Python keyword: the field is `in_`, read as "in".
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra=optional_args_schema({"in": False, "reweight": 0.8}),
    )

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

    @field_validator("*", mode="before")
    @classmethod
    def _no_null(cls, value: Any) -> Any:
        return no_null(value)

    def changes(self) -> dict[str, Any]:
        """The changes given, keyed as in the body (in, up, reweight)."""
        return self.model_dump(exclude_unset=True, by_alias=True)


class OsdCommand(BaseModel):
    """POST /osd/{id}/command: the command to run on the (up) OSD."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"command": "scrub"}]}
    )

    command: Literal["scrub", "deep-scrub", "repair"] = Field(
        description="What to run; the OSD must be up (else 409)."
    )
