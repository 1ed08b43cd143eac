"""Routes of /pool."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Response

from app.ceph import pool as pool_ceph
from app.deps import AdminKeyDep, JobRunnerDep, KeyDep, MapsDep
from app.models.error import BODY_ERRORS, KEYED_ERRORS, Responses, error_response
from app.models.pool import Pool, PoolCreate, PoolUpdate
from app.models.request import JOB_RESPONSES, JOB_STARTED, Job
from app.routers.route import JsonBodyRoute, ResourceRouter, answered

router = ResourceRouter(
    prefix="/pool", tags=["pool"], responses=KEYED_ERRORS, route_class=JsonBodyRoute
)

CREATE_RESPONSES: Responses = {
    **JOB_RESPONSES,
    **BODY_ERRORS,
    409: error_response(
        "A pool of that name exists already, and the body asks to change it: use PATCH."
    ),
}

PoolId = Annotated[int, Path(description="The pool's id (`pool` in GET /pool).", examples=[1])]


@router.get(
    "",
    response_model=list[Pool],
    # Fields of later releases appear only where the release has them.
    response_model_exclude_unset=True,
    operation_id="list_pools",
    summary="List pools",
    description=(
        "Show the information for all the pools.\n\n"
        "Every pool of the OSD map (`osd dump`), in map order, `pg_placement_num` shown as "
        "`pgp_num` as the module does."
    ),
)
async def list_pools(maps: MapsDep, _key: KeyDep) -> Response:
    return answered(await pool_ceph.list_pools(maps))


@router.post(
    "",
    response_model=Job,
    responses=CREATE_RESPONSES,
    response_description=JOB_STARTED,
    operation_id="create_pool",
    summary="Create a pool",
    description=(
        "Create a new pool.\n\n"
        "Starts a job: `osd pool create` (with `pg_num`; pgp_num follows it), then `osd pool "
        "set` and `osd pool set-quota` for the other arguments given. A crush_rule may be "
        "given by id or name (400 when there is none such). Creating a pool that exists with "
        "only `name` and `pg_num` succeeds and leaves it as it is, as in Ceph; with other "
        "arguments it is a 409. Needs an admin key. Answers the job at once, or with "
        "`?wait=1` once it ended."
    ),
)
async def create_pool(
    body: PoolCreate,
    jobs: JobRunnerDep,
    maps: MapsDep,
    _key: AdminKeyDep,
) -> Response:
    waves = await pool_ceph.create_waves(maps, body.name, body.pg_num, body.pool_args())
    return await jobs.run(waves)


@router.get(
    "/{pool_id}",
    response_model=Pool,
    # Fields of later releases appear only where the release has them.
    response_model_exclude_unset=True,
    operation_id="get_pool",
    summary="Get a pool",
    description=(
        "Show the information for the pool id.\n\n"
        "One entry of GET /pool; 404 when there is no such pool."
    ),
)
async def get_pool(pool_id: PoolId, maps: MapsDep, _key: KeyDep) -> Response:
    return answered(await pool_ceph.get_pool(maps, pool_id))


@router.patch(
    "/{pool_id}",
    response_model=Job,
    responses={**JOB_RESPONSES, **BODY_ERRORS},
    response_description=JOB_STARTED,
    operation_id="update_pool",
    summary="Change a pool",
    description=(
        "Modify the information for the pool id.\n\n"
        "Starts a job: `osd pool set` for size, min_size, pg_num, crush_rule and hashpspool "
        "and `osd pool set-quota` for the quotas, in a first wave; then pgp_num (which "
        "follows pg_num unless given), and min_size when size is given too. 404 when there "
        "is no such pool. Needs an admin key. Answers the job at once, or with `?wait=1` "
        "once it ended."
    ),
)
async def update_pool(
    pool_id: PoolId,
    body: PoolUpdate,
    jobs: JobRunnerDep,
    maps: MapsDep,
    _key: AdminKeyDep,
) -> Response:
    waves = await pool_ceph.update_waves(maps, pool_id, body.pool_args())
    return await jobs.run(waves)


@router.delete(
    "/{pool_id}",
    response_model=Job,
    responses=JOB_RESPONSES,
    response_description=JOB_STARTED,
    operation_id="delete_pool",
    summary="Delete a pool",
    description=(
        "Remove the pool data for the pool id.\n\n"
        "Starts a job of one command: `osd pool delete` with the pool's name twice and the "
        "confirmation flag (the DELETE is the confirmation). The mons must allow it "
        "(`mon_allow_pool_delete`), else the job fails. 404 when there is no such pool. "
        "Needs an admin key. Answers the job at once, or with `?wait=1` once it ended."
    ),
)
async def delete_pool(
    pool_id: PoolId,
    jobs: JobRunnerDep,
    maps: MapsDep,
    _key: AdminKeyDep,
) -> Response:
    waves = await pool_ceph.delete_waves(maps, pool_id)
    return await jobs.run(waves)
