"""Routes of /request: the job table, and any mon command passed through as a job."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from app.ceph.request import check_not_denied, paginate, parse_deny_list
from app.deps import AdminKeyDep, JobTableDep, KeyDep, SettingsDep
from app.errors import NotFound
from app.jobs import WaitDep, run_job
from app.models.request import JOB_RESPONSES, CleanedJobs, Job, RequestBody

router = APIRouter(prefix="/request", tags=["request"])

PageQuery = Annotated[
    int | None,
    Query(description="100 jobs a page: 0 the first, -1 the last 100; none for all."),
]


@router.get("", response_model=list[Job], operation_id="list_requests")
async def list_requests(jobs: JobTableDep, _key: KeyDep, page: PageQuery = None) -> list[Any]:
    """List all the available requests."""
    return [job.to_json() for job in paginate(jobs.list_jobs(), page)]


@router.post("", response_model=Job, responses=JOB_RESPONSES, operation_id="create_request")
async def create_request(
    body: RequestBody,
    response: Response,
    jobs: JobTableDep,
    settings: SettingsDep,
    wait: WaitDep,
    _key: AdminKeyDep,
) -> dict[str, Any]:
    """Pass through method to create any request."""
    waves = body.waves()
    check_not_denied(waves, parse_deny_list(settings.request_deny))
    return await run_job(response, jobs, waves, wait)


@router.delete("", response_model=CleanedJobs, operation_id="delete_finished_requests")
async def delete_finished_requests(jobs: JobTableDep, _key: AdminKeyDep) -> dict[str, int]:
    """Remove all the finished requests."""
    cleaned, remaining = jobs.delete_finished()
    return {"cleaned": cleaned, "remaining": remaining}


@router.get("/{request_id}", response_model=Job, operation_id="get_request")
async def get_request(request_id: str, jobs: JobTableDep, _key: KeyDep) -> dict[str, Any]:
    """Show the information for the request id."""
    job = jobs.get(request_id)
    if job is None:
        raise NotFound(f'Unknown request id "{request_id}"')
    return job.to_json()


@router.delete("/{request_id}", response_model=Job, operation_id="delete_request")
async def delete_request(request_id: str, jobs: JobTableDep, _key: AdminKeyDep) -> dict[str, Any]:
    """Remove the request id from the database."""
    job = jobs.delete(request_id)
    if job is None:
        raise NotFound(f'No such request id "{request_id}"')
    return job.to_json()
