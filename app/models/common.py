"""Schemas shared by several resources: Ceph's entity address vectors."""

from __future__ import annotations

from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field

# A daemon's addresses as the maps print them: messenger v2 first, then the legacy v1.
ADDRVEC_EXAMPLE: Final[dict[str, Any]] = {
    "addrvec": [
        {"type": "v2", "addr": "127.0.0.1:6800", "nonce": 4978},
        {"type": "v1", "addr": "127.0.0.1:6801", "nonce": 4978},
    ]
}


class AddrVecEntry(BaseModel):
    """One address a daemon listens on."""

    model_config = ConfigDict(
        extra="allow", json_schema_extra={"examples": [ADDRVEC_EXAMPLE["addrvec"][0]]}
    )

    type: str = Field(description="Messenger protocol: `v2` or `v1` (`any` on some daemons).")
    addr: str = Field(description="IP:port.")
    nonce: int = Field(description="Messenger nonce (0 for mons, else unique per daemon start).")


class AddrVec(BaseModel):
    """A daemon's address vector (`entity_addrvec_t`): every address it listens on."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [ADDRVEC_EXAMPLE]})

    addrvec: list[AddrVecEntry] = Field(description="Every address, v2 before v1.")
