"""Routes of /osd/."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import BeforeValidator

from app.ceph import osd as osd_ceph
from app.deps import AdminKeyDep, CephDep, JobTableDep, KeyDep
from app.jobs import WaitDep, run_job
from app.models.error import ErrorResponse
from app.models.osd import Osd, OsdCommand, OsdCommands, OsdUpdate
from app.models.request import JOB_RESPONSES, Job

router = APIRouter(prefix="/osd", tags=["osd"])

COMMAND_RESPONSES: dict[int | str, dict[str, Any]] = {
    **JOB_RESPONSES,
    409: {"model": ErrorResponse, "description": "The OSD is not up: nothing can run on it."},
}


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


@router.patch("/{osd_id}", response_model=Job, responses=JOB_RESPONSES, operation_id="update_osd")
async def update_osd(
    osd_id: int,
    body: OsdUpdate,
    response: Response,
    jobs: JobTableDep,
    ceph: CephDep,
    wait: WaitDep,
    _key: AdminKeyDep,
) -> dict[str, Any]:
    """Modify the state (up, in) of the OSD id or reweight it."""
    waves = await osd_ceph.update_waves(ceph, osd_id, body.changes())
    return await run_job(response, jobs, waves, wait)


@router.post(
    "/{osd_id}/command",
    response_model=Job,
    responses=COMMAND_RESPONSES,
    operation_id="run_osd_command",
)
async def run_osd_command(
    osd_id: int,
    body: OsdCommand,
    response: Response,
    jobs: JobTableDep,
    ceph: CephDep,
    wait: WaitDep,
    _key: AdminKeyDep,
) -> dict[str, Any]:
    """Run the implemented command for the OSD id."""
    waves = await osd_ceph.command_waves(ceph, osd_id, body.command)
    return await run_job(response, jobs, waves, wait)
