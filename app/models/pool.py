"""Schemas of /pool."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Pool(BaseModel):
    """A pool as in the OSD map (`osd dump`); Ceph's many other pool fields pass through."""

    model_config = ConfigDict(extra="allow")

    pool: int = Field(description="Pool id.")
    pool_name: str = Field(description="Pool name.")
    type: int = Field(description="1 replicated, 3 erasure-coded.")
    size: int = Field(description="Replicas (or k+m chunks).")
    min_size: int = Field(description="Replicas needed to serve I/O.")
    crush_rule: int = Field(description="Id of the CRUSH rule placing the pool.")
    pg_num: int = Field(description="Placement groups.")
    pgp_num: int = Field(description="Placement groups used for placement.")
    quota_max_bytes: int = Field(description="Byte quota, 0 for none.")
    quota_max_objects: int = Field(description="Object quota, 0 for none.")
    flags_names: str = Field(description="Pool flags, comma-separated (e.g. hashpspool).")
    application_metadata: dict[str, dict[str, str]] = Field(
        description="Applications enabled on the pool."
    )
