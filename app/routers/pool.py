"""Routes of /pool."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from app.ceph import pool as pool_ceph
from app.deps import CephDep, KeyDep
from app.models.pool import Pool

router = APIRouter(prefix="/pool", tags=["pool"])


@router.get("", response_model=list[Pool], operation_id="list_pools")
async def list_pools(ceph: CephDep, _key: KeyDep) -> list[dict[str, Any]]:
    """Show the information for all the pools."""
    return await pool_ceph.list_pools(ceph)


@router.get("/{pool_id}", response_model=Pool, operation_id="get_pool")
async def get_pool(pool_id: int, ceph: CephDep, _key: KeyDep) -> dict[str, Any]:
    """Show the information for the pool id."""
    return await pool_ceph.get_pool(ceph, pool_id)
