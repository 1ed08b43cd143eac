"""Schemas shared by several resources: the base of request bodies, and Ceph's entity
address vectors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field, field_validator


def drop_null_from_schema(schema: dict[str, Any]) -> None:
    """Show an optional field `X | None = None` as plain X: null is refused (`no_null`)."""
    for prop in schema.get("properties", {}).values():
        variants = prop.get("anyOf")
        if isinstance(variants, list) and {"type": "null"} in variants:
            rest = [v for v in variants if v != {"type": "null"}]
            del prop["anyOf"]
            if len(rest) == 1:
                prop.update(rest[0])
            else:
                prop["anyOf"] = rest
        if prop.get("default", "") is None:
            del prop["default"]


def optional_args_schema(example: dict[str, Any]) -> Callable[[dict[str, Any]], None]:
    """A `json_schema_extra` for a body of optional arguments: no null, one example."""

    def extra(schema: dict[str, Any]) -> None:
        drop_null_from_schema(schema)
        schema["examples"] = [example]

    return extra


def no_null(value: Any) -> Any:
    """A before-validator: an explicit null would reach Ceph as the text "None"."""
    if value is None:
        raise ValueError("null is not a value here: leave the argument out")
    return value


class ArgumentsBody(BaseModel):
    """A request body of optional arguments: each one left out is left as it is, and none may
    be null (Ceph would get the text "None"). Unknown keys are refused unless a subclass says."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=drop_null_from_schema)

    @field_validator("*", mode="before")
    @classmethod
    def _no_null(cls, value: Any) -> Any:
        return no_null(value)


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
