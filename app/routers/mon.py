"""Routes of /mon/."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from app.ceph import mon as mon_ceph
from app.deps import CephDep, KeyDep
from app.models.mon import Mon

router = APIRouter(prefix="/mon", tags=["mon"])


@router.get("", response_model=list[Mon], operation_id="list_mons")
async def list_mons(ceph: CephDep, _key: KeyDep) -> list[dict[str, Any]]:
    """Show the information for all the monitors."""
    return await mon_ceph.list_mons(ceph)


@router.get("/{name}", response_model=Mon, operation_id="get_mon")
async def get_mon(name: str, ceph: CephDep, _key: KeyDep) -> dict[str, Any]:
    """Show the information for the monitor name."""
    return await mon_ceph.get_mon(ceph, name)
