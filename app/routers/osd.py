"""Routes of /osd/."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BeforeValidator

from app.ceph import osd as osd_ceph
from app.deps import CephDep, KeyDep
from app.models.osd import Osd, OsdCommands

router = APIRouter(prefix="/osd", tags=["osd"])


def _empty_is_none(value: object) -> object:
    # The module filters only on a non-empty value: `?pool=` lists every OSD.
    return None if value == "" else value


PoolFilter = Annotated[
    int | None,
    BeforeValidator(_empty_is_none),
    Query(description="Only the OSDs this pool's CRUSH rule can reach."),
]


@router.get("", response_model=list[Osd], operation_id="list_osds")
async def list_osds(ceph: CephDep, _key: KeyDep, pool: PoolFilter = None) -> list[dict[str, Any]]:
    """Show the information for all the OSDs."""
    return await osd_ceph.list_osds(ceph, pool)


@router.get("/{osd_id}", response_model=Osd, operation_id="get_osd")
async def get_osd(osd_id: int, ceph: CephDep, _key: KeyDep) -> dict[str, Any]:
    """Show the information for the OSD id."""
    return await osd_ceph.get_osd(ceph, osd_id)


@router.get("/{osd_id}/command", response_model=OsdCommands, operation_id="list_osd_commands")
async def list_osd_commands(osd_id: int, ceph: CephDep, _key: KeyDep) -> list[str]:
    """Show implemented commands for the OSD id."""
    return await osd_ceph.list_osd_commands(ceph, osd_id)
