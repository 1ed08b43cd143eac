"""Routes of /crush/."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from app.ceph import crush as crush_ceph
from app.deps import CephDep, KeyDep
from app.models.crush import CrushRule

router = APIRouter(prefix="/crush", tags=["crush"])


@router.get("/rule", response_model=list[CrushRule], operation_id="list_crush_rules")
async def list_crush_rules(ceph: CephDep, _key: KeyDep) -> list[dict[str, Any]]:
    """Show crush rules."""
    return await crush_ceph.list_crush_rules(ceph)
