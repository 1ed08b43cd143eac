"""Schema of /mon."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class AddrVecEntry(BaseModel):
    """One address a mon listens on."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(description="Messenger protocol: v2 or v1.")
    addr: str = Field(description="IP:port.")
    nonce: int = Field(description="Messenger nonce (0 for mons).")


class AddrVec(BaseModel):
    model_config = ConfigDict(extra="allow")

    addrvec: list[AddrVecEntry] = Field(description="Every address of the mon.")


class Mon(BaseModel):
    """A monitor as in the monmap (`mon dump`), plus quorum and host; other fields pass through."""

    model_config = ConfigDict(extra="allow")

    name: str = Field(description="Mon name.")
    rank: int = Field(description="Rank in the monmap.")
    addr: str = Field(description="Legacy (v1) address, e.g. 127.0.0.1:6789/0.")
    public_addr: str = Field(description="Legacy (v1) public address.")
    public_addrs: AddrVec = Field(description="All public addresses (v2 and v1).")
    in_quorum: bool = Field(description="Whether the mon is in the quorum.")
    leader: bool = Field(
        description="Whether the mon has the lowest rank in the quorum (the module's rule)."
    )
    server: str | None = Field(
        description="Host name from the mon's metadata; null while the mons hold none for it."
    )
