"""Schema of /mon."""

from __future__ import annotations

from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field

from app.models.common import AddrVec

# The module's GET /mon/a on a test cluster (tests/support/samples/GET_mon_a.json).
MON_EXAMPLE: Final[dict[str, Any]] = {
    "rank": 0,
    "name": "a",
    "public_addrs": {
        "addrvec": [
            {"type": "v2", "addr": "127.0.0.1:3300", "nonce": 0},
            {"type": "v1", "addr": "127.0.0.1:6789", "nonce": 0},
        ]
    },
    "addr": "127.0.0.1:6789/0",
    "public_addr": "127.0.0.1:6789/0",
    "priority": 0,
    "weight": 0,
    "crush_location": "{}",
    "in_quorum": True,
    "server": "vm",
    "leader": True,
}


class Mon(BaseModel):
    """A monitor as in the monmap (`quorum_status`), plus `in_quorum`, `leader` and `server`.

    Other monmap fields of later releases pass through.
    """

    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [MON_EXAMPLE]})

    name: str = Field(description="Mon name, e.g. `a`.")
    rank: int = Field(description="Rank in the monmap (0 first).")
    addr: str = Field(description="Legacy (v1) address, ip:port/nonce, e.g. 127.0.0.1:6789/0.")
    public_addr: str = Field(description="Legacy (v1) public address, ip:port/nonce.")
    public_addrs: AddrVec = Field(description="All public addresses (v2 and v1).")
    priority: int = Field(description="Priority clients connect to it with (lower first).")
    weight: int = Field(description="Weight among mons of the same priority (0: default).")
    in_quorum: bool = Field(description="Whether the mon is in the quorum.")
    leader: bool = Field(
        description="Whether the mon has the lowest rank in the quorum (the module's rule)."
    )
    crush_location: str = Field(
        description=(
            "The mon's CRUSH location as Pacific prints it, the text of a map "
            "(`{datacenter=dc1,host=h1}`, `{}` for none), on every release (Tentacle's monmap "
            "has a list of pairs)."
        )
    )
    time_added: str | None = Field(
        default=None, description="Tentacle and later: when the mon joined the monmap (UTC)."
    )
    server: str | None = Field(
        description="Host name from the mon's metadata; null while the mons hold none for it."
    )
