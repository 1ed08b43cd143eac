"""Routes of /osd/."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query, Response
from pydantic import BeforeValidator

from app.ceph import osd as osd_ceph
from app.deps import AdminKeyDep, JobRunnerDep, KeyDep, MapsDep
from app.models.error import BODY_ERRORS, KEYED_ERRORS, Responses, error_response
from app.models.osd import Osd, OsdCommand, OsdCommands, OsdUpdate
from app.models.request import JOB_RESPONSES, JOB_STARTED, Job
from app.routers.route import JsonBodyRoute, ResourceRouter, answered

router = ResourceRouter(
    prefix="/osd", tags=["osd"], responses=KEYED_ERRORS, route_class=JsonBodyRoute
)

COMMAND_RESPONSES: Responses = {
    **JOB_RESPONSES,
    **BODY_ERRORS,
    409: error_response("The OSD is not up: nothing can run on it."),
}


def _empty_is_none(value: object) -> object:
    # The module filters only on a non-empty value: `?pool=` lists every OSD.
    return None if value == "" else value


PoolFilter = Annotated[
    int | None,
    BeforeValidator(_empty_is_none),
    Query(
        description="Only the OSDs this pool's CRUSH rule can reach (a pool id; empty: all).",
        examples=[1],
    ),
]
OsdId = Annotated[int, Path(description="The OSD's id.", examples=[0])]


@router.get(
    "",
    response_model=list[Osd],
    operation_id="list_osds",
    summary="List OSDs",
    description=(
        "Show the information for all the OSDs.\n\n"
        "Each OSD of `osd dump`, in map order, with the module's own keys: `pools` (the "
        "pools whose CRUSH rule can reach it, from `osd crush dump`), `reweight` (from `osd "
        "tree` at the dump's epoch), `server` (from `osd metadata`) and `valid_commands`. "
        "`?pool=<id>` keeps the OSDs that pool can reach (none for an unknown pool)."
    ),
)
async def list_osds(maps: MapsDep, _key: KeyDep, pool: PoolFilter = None) -> Response:
    return answered(await osd_ceph.list_osds(maps, pool))


@router.get(
    "/{osd_id}",
    response_model=Osd,
    operation_id="get_osd",
    summary="Get an OSD",
    description=(
        "Show the information for the OSD id.\n\n"
        "One entry of GET /osd; 404 when there is no such OSD."
    ),
)
async def get_osd(osd_id: OsdId, maps: MapsDep, _key: KeyDep) -> Response:
    return answered(await osd_ceph.get_osd(maps, osd_id))


@router.get(
    "/{osd_id}/command",
    response_model=OsdCommands,
    operation_id="list_osd_commands",
    summary="List the commands an OSD can run",
    description=(
        "Show implemented commands for the OSD id.\n\n"
        "`scrub`, `deep-scrub` and `repair` while the OSD is up in the OSD map (`osd dump`), "
        "none while it is down; 404 when there is no such OSD."
    ),
)
async def list_osd_commands(osd_id: OsdId, maps: MapsDep, _key: KeyDep) -> Response:
    return answered(await osd_ceph.list_osd_commands(maps, osd_id))


@router.patch(
    "/{osd_id}",
    response_model=Job,
    responses={**JOB_RESPONSES, **BODY_ERRORS},
    response_description=JOB_STARTED,
    operation_id="update_osd",
    summary="Mark an OSD in, out or down, or reweight it",
    description=(
        "Modify the state (up, in) of the OSD id or reweight it.\n\n"
        "Starts a job: `osd in` or `osd out` (for `in`) and `osd down` (for `up: false`) in "
        "a first wave, then `osd reweight` (for `reweight`). `up: true` is a 400 (only the "
        "OSD itself can come up), and so is `in: false` with a reweight; 404 when there is "
        "no such OSD. Needs an admin key. Answers the job at once, or with `?wait=1` once "
        "it ended."
    ),
)
async def update_osd(
    osd_id: OsdId,
    body: OsdUpdate,
    jobs: JobRunnerDep,
    maps: MapsDep,
    _key: AdminKeyDep,
) -> Response:
    waves = await osd_ceph.update_waves(maps, osd_id, body.changes())
    return await jobs.run(waves)


@router.post(
    "/{osd_id}/command",
    response_model=Job,
    responses=COMMAND_RESPONSES,
    response_description=JOB_STARTED,
    operation_id="run_osd_command",
    summary="Run a command on an OSD",
    description=(
        "Run the implemented command for the OSD id.\n\n"
        "Starts a job of one command: `osd scrub`, `osd deep-scrub` or `osd repair` with "
        "`who=<id>`. 409 while the OSD is down (the module answered 500), 404 when there is "
        "no such OSD. Needs an admin key. Answers the job at once, or with `?wait=1` once "
        "the mgr accepted the command (the scrub itself runs on in the OSD)."
    ),
)
async def run_osd_command(
    osd_id: OsdId,
    body: OsdCommand,
    jobs: JobRunnerDep,
    maps: MapsDep,
    _key: AdminKeyDep,
) -> Response:
    waves = await osd_ceph.command_waves(maps, osd_id, body.command)
    return await jobs.run(waves)
