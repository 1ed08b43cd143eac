"""Routes of /crush/."""

from __future__ import annotations

from fastapi import Response

from app.ceph import crush as crush_ceph
from app.deps import KeyDep, MapsDep
from app.models.crush import CrushRule
from app.models.error import KEYED_ERRORS
from app.routers.route import ResourceRouter, answered

router = ResourceRouter(prefix="/crush", tags=["crush"], responses=KEYED_ERRORS)


@router.get(
    "/rule",
    response_model=list[CrushRule],
    operation_id="list_crush_rules",
    summary="List CRUSH rules",
    description=(
        "Show crush rules.\n\n"
        "The rules of `osd crush dump`, each with the module's `osd_count`: how many OSDs "
        "its take steps can reach (0 for an erasure-coded rule, as in the module)."
    ),
)
async def list_crush_rules(maps: MapsDep, _key: KeyDep) -> Response:
    return answered(await crush_ceph.list_crush_rules(maps))
