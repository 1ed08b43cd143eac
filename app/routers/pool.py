"""Routes of /pool."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from app.ceph import pool as pool_ceph
from app.deps import AdminKeyDep, CephDep, JobTableDep, KeyDep
from app.jobs import WaitDep, run_job
from app.models.error import ErrorResponse
from app.models.pool import Pool, PoolCreate, PoolUpdate
from app.models.request import JOB_RESPONSES, Job

router = APIRouter(prefix="/pool", tags=["pool"])

CREATE_RESPONSES: dict[int | str, dict[str, Any]] = {
    **JOB_RESPONSES,
    409: {"model": ErrorResponse, "description": "A pool of that name exists already."},
}


@router.get("", response_model=list[Pool], operation_id="list_pools")
async def list_pools(ceph: CephDep, _key: KeyDep) -> list[dict[str, Any]]:
    """Show the information for all the pools."""
    return await pool_ceph.list_pools(ceph)


@router.post("", response_model=Job, responses=CREATE_RESPONSES, operation_id="create_pool")
async def create_pool(
    body: PoolCreate,
    response: Response,
    jobs: JobTableDep,
    ceph: CephDep,
    wait: WaitDep,
    _key: AdminKeyDep,
) -> dict[str, Any]:
    """Create a new pool."""
    waves = await pool_ceph.create_waves(ceph, body.name, body.pg_num, body.pool_args())
    return await run_job(response, jobs, waves, wait)


@router.get("/{pool_id}", response_model=Pool, operation_id="get_pool")
async def get_pool(pool_id: int, ceph: CephDep, _key: KeyDep) -> dict[str, Any]:
    """Show the information for the pool id."""
    return await pool_ceph.get_pool(ceph, pool_id)


@router.patch("/{pool_id}", response_model=Job, responses=JOB_RESPONSES, operation_id="update_pool")
async def update_pool(
    pool_id: int,
    body: PoolUpdate,
    response: Response,
    jobs: JobTableDep,
    ceph: CephDep,
    wait: WaitDep,
    _key: AdminKeyDep,
) -> dict[str, Any]:
    """Modify the information for the pool id."""
    waves = await pool_ceph.update_waves(ceph, pool_id, body.pool_args())
    return await run_job(response, jobs, waves, wait)


@router.delete(
    "/{pool_id}", response_model=Job, responses=JOB_RESPONSES, operation_id="delete_pool"
)
async def delete_pool(
    pool_id: int,
    response: Response,
    jobs: JobTableDep,
    ceph: CephDep,
    wait: WaitDep,
    _key: AdminKeyDep,
) -> dict[str, Any]:
    """Remove the pool data for the pool id."""
    waves = await pool_ceph.delete_waves(ceph, pool_id)
    return await run_job(response, jobs, waves, wait)
