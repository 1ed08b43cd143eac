"""Routes of /mon/."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Response

from app.ceph import mon as mon_ceph
from app.deps import KeyDep, MapsDep
from app.models.error import KEYED_ERRORS
from app.models.mon import Mon
from app.routers.route import ResourceRouter, answered

router = ResourceRouter(prefix="/mon", tags=["mon"], responses=KEYED_ERRORS)

MonName = Annotated[str, Path(description="The mon's name, as in the monmap.", examples=["a"])]


@router.get(
    "",
    response_model=list[Mon],
    # Fields of later releases appear only where the release has them.
    response_model_exclude_unset=True,
    operation_id="list_mons",
    summary="List monitors",
    description=(
        "Show the information for all the monitors.\n\n"
        "The monmap's mons in rank order, from `quorum_status` (the monmap and the quorum in "
        "one snapshot), each with `in_quorum`, `leader` and its host (from `mon metadata`) "
        "as `server`."
    ),
)
async def list_mons(maps: MapsDep, _key: KeyDep) -> Response:
    return answered(await mon_ceph.list_mons(maps))


@router.get(
    "/{name}",
    response_model=Mon,
    # Fields of later releases appear only where the release has them.
    response_model_exclude_unset=True,
    operation_id="get_mon",
    summary="Get a monitor",
    description=(
        "Show the information for the monitor name.\n\n"
        "One entry of GET /mon; 404 when no mon has that name."
    ),
)
async def get_mon(name: MonName, maps: MapsDep, _key: KeyDep) -> Response:
    return answered(await mon_ceph.get_mon(maps, name))
