"""Schemas of /pool."""

from __future__ import annotations

from typing import Annotated, Any, Final

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from app.models.common import ArgumentsBody, optional_args_schema

# The module's GET /pool/1 on a test cluster (Pacific), trimmed of the cache-tier, hit-set
# and snapshot fields (they pass through).
POOL_EXAMPLE: Final[dict[str, Any]] = {
    "pool": 1,
    "pool_name": "device_health_metrics",
    "create_time": "2026-11-25T12:36:15.654482+0000",
    "flags": 1,
    "flags_names": "hashpspool",
    "type": 1,
    "size": 1,
    "min_size": 1,
    "crush_rule": 0,
    "object_hash": 2,
    "pg_autoscale_mode": "off",
    "pg_num": 1,
    "pg_placement_num_target": 1,
    "pg_num_target": 1,
    "pg_num_pending": 1,
    "last_change": "10",
    "quota_max_bytes": 0,
    "quota_max_objects": 0,
    "erasure_code_profile": "",
    "stripe_width": 0,
    "options": {"pg_num_max": 32, "pg_num_min": 1},
    "application_metadata": {"mgr_devicehealth": {}},
    "pgp_num": 1,
}


class Pool(BaseModel):
    """A pool as in the OSD map (`osd dump`), `pg_placement_num` shown as `pgp_num` as the
    module does; Ceph's many other pool fields (cache tiering, hit sets, snapshots...) pass
    through."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [POOL_EXAMPLE]})

    pool: int = Field(description="Pool id.")
    pool_name: str = Field(description="Pool name.")
    type: int = Field(description="1 replicated, 3 erasure-coded.")
    size: int = Field(description="Replicas (or k+m chunks).")
    min_size: int = Field(description="Replicas needed to serve I/O.")
    crush_rule: int = Field(description="Id of the CRUSH rule placing the pool.")
    pg_num: int = Field(description="Placement groups.")
    pgp_num: int = Field(description="Placement groups used for placement.")
    pg_num_target: int = Field(description="pg_num the mons are moving pg_num towards.")
    pg_placement_num_target: int = Field(description="pgp_num the mons are moving towards.")
    pg_num_pending: int = Field(description="pg_num after the PG merges in progress.")
    pg_autoscale_mode: str = Field(description="PG autoscaler: `on`, `off` or `warn`.")
    quota_max_bytes: int = Field(description="Byte quota, 0 for none.")
    quota_max_objects: int = Field(description="Object quota, 0 for none.")
    flags: int = Field(description="Pool flags, as a bitmask (see flags_names).")
    flags_names: str = Field(description="Pool flags, comma-separated (e.g. hashpspool).")
    application_metadata: dict[str, dict[str, str]] = Field(
        description="Applications enabled on the pool (rbd, rgw, cephfs...) and their keys."
    )
    create_time: str = Field(description="When the pool was created (UTC, Ceph's format).")
    last_change: str = Field(description="OSD map epoch of the pool's last change, as a string.")
    erasure_code_profile: str = Field(description="Erasure-code profile; empty if replicated.")
    object_hash: int = Field(description="Object hash function: 2 is rjenkins.")
    stripe_width: int = Field(description="Erasure-coded stripe width in bytes; 0 if replicated.")
    options: dict[str, Any] = Field(
        description="Per-pool options set with `osd pool set` (pg_num_min, compression...)."
    )
    # Fields of later releases' OSD maps, passed through where the release has them.
    read_balance: dict[str, Any] | None = Field(
        default=None,
        description=(
            "Reef and later: how evenly the pool's primaries are spread (`score_acting`, "
            "`optimal_score`... as floats; Tentacle adds the text `score_type`)."
        ),
    )
    is_stretch_pool: bool | None = Field(
        default=None, description="Tentacle and later: whether the pool is a stretch pool."
    )
    nonprimary_shards: str | None = Field(
        default=None,
        description="Tentacle and later: the shards that are never primary (Ceph's text).",
    )


# -- request bodies ----------------------------------------------------------------------------

# Strict: a JSON number for a count, never "8" or true (the module passed anything on to Ceph).
# Ceph's own bounds: size 1..10 ("pool size must be between 1 and 10"), pg_num > 0.
_Size = Annotated[int, Field(strict=True, ge=1, le=10)]
_Count = Annotated[int, Field(strict=True, ge=1)]
_Quota = Annotated[int, Field(strict=True, ge=0)]
_Flag = Annotated[bool, Field(strict=True)]
_PoolName = Annotated[str, StringConstraints(min_length=1)]
_RuleId = Annotated[int, Field(ge=0)]
_RuleName = Annotated[str, StringConstraints(min_length=1)]


class PoolArgs(ArgumentsBody):
    """The pool arguments the module accepts; each one left out is left as it is."""

    size: _Size | None = Field(default=None, description="Replicas (or k+m chunks), 1 to 10.")
    min_size: _Size | None = Field(
        default=None, description="Replicas needed to serve I/O, 1 to size."
    )
    pg_num: _Count | None = Field(
        default=None,
        description="Placement groups; pgp_num follows in a second wave unless given.",
    )
    pgp_num: _Count | None = Field(
        default=None, description="Placement groups used for placement (set after pg_num)."
    )
    crush_rule: _RuleId | _RuleName | None = Field(
        default=None, description="CRUSH rule: its id (as GET /pool shows) or its name."
    )
    hashpspool: _Flag | None = Field(
        default=None,
        description="Set (true) or unset (false) the flag; remaps every PG of the pool.",
    )
    quota_max_bytes: _Quota | None = Field(default=None, description="Byte quota, 0 for none.")
    quota_max_objects: _Quota | None = Field(default=None, description="Object quota, 0 for none.")

    @field_validator("crush_rule", mode="before")
    @classmethod
    def _rule_id_or_name(cls, value: Any) -> Any:
        # One clear error instead of the int|str union's two.
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise ValueError("a CRUSH rule id (integer) or name (string)")
        if isinstance(value, int) and value < 0:
            raise ValueError("a CRUSH rule id is 0 or more")
        if isinstance(value, str) and not value:
            raise ValueError("a CRUSH rule name is not empty")
        return value

    @model_validator(mode="after")
    def _min_size_within_size(self) -> PoolArgs:
        if self.size is not None and self.min_size is not None and self.min_size > self.size:
            raise ValueError(f"min_size ({self.min_size}) must not exceed size ({self.size})")
        return self

    def pool_args(self) -> dict[str, Any]:
        """The arguments given, by name (in field order)."""
        return self.model_dump(exclude_unset=True)


class PoolUpdate(PoolArgs):
    """PATCH /pool/{id}: the pool arguments to change."""

    model_config = ConfigDict(
        json_schema_extra=optional_args_schema(
            {"size": 3, "min_size": 2, "quota_max_objects": 1000}
        )
    )


class PoolCreate(PoolArgs):
    """POST /pool: a name and pg_num, plus any pool argument to set after creating it."""

    model_config = ConfigDict(
        json_schema_extra=optional_args_schema({"name": "rbd", "pg_num": 32, "size": 3})
    )

    name: _PoolName = Field(description="The new pool's name.")
    pg_num: _Count = Field(description="Placement groups (pgp_num is set to the same).")

    def pool_args(self) -> dict[str, Any]:
        """The arguments to set after `osd pool create` (pg_num is one of its own)."""
        return self.model_dump(exclude_unset=True, exclude={"name", "pg_num"})
