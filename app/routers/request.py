"""Routes of /request: the job table, and any mon command passed through as a job."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path, Query, Response

from app.deps import COMMAND_RUNNER_SPEC, AdminKeyDep, CommandRunnerDep, JobTableDep, KeyDep
from app.errors import NotFound
from app.models.error import BODY_ERRORS, KEYED_ERRORS
from app.models.request import JOB_RESPONSES, JOB_STARTED, CleanedJobs, Job, RequestBody
from app.routers.route import JsonBodyRoute, ResourceRouter

router = ResourceRouter(
    prefix="/request", tags=["request"], responses=KEYED_ERRORS, route_class=JsonBodyRoute
)

PageQuery = Annotated[
    int | None,
    Query(description="100 jobs a page: 0 the first, -1 the last 100; none for all.", examples=[0]),
]
RequestId = Annotated[
    str,
    Path(
        description="The job's id, as its `id` shows.",
        examples=["5d0f4c9e-8d3b-4b8e-9a57-0c7f3e1b2a64"],
    ),
]

_JOB_TABLE = (
    "The job table keeps unfinished jobs, and finished ones for a while (`job_ttl`, at most "
    "`job_max_finished`): this gateway process's own, or with `job_store=rados` those of "
    "every gateway of the cluster."
)


@router.get(
    "",
    response_model=list[Job],
    operation_id="list_requests",
    summary="List jobs",
    description=(
        "List all the available requests.\n\n"
        f"Every job of the job table, oldest first, or a page of 100 with `?page=`. {_JOB_TABLE}"
    ),
)
async def list_requests(jobs: JobTableDep, _key: KeyDep, page: PageQuery = None) -> list[Any]:
    return await jobs.list_records(page)


@router.post(
    "",
    response_model=Job,
    responses={**JOB_RESPONSES, **BODY_ERRORS},
    response_description=JOB_STARTED,
    operation_id="create_request",
    openapi_extra=COMMAND_RUNNER_SPEC,
    summary="Run mon commands as a job",
    description=(
        "Pass through method to create any request.\n\n"
        "Starts a job of the mon commands given, as Ceph's CLI sends them: one command "
        '`{"prefix": ..., <arguments>}`, or waves of them (`[[c1, c2], [c3]]` runs c1 and '
        "c2 at once, then c3). A failed command does not stop the later waves, as in the "
        "module. Commands that hand out secrets (cephx keys, API keys) are refused with 403 "
        "by the gateway's deny-list before anything runs, and a command the cluster's "
        "command table does not take (an unknown prefix; a missing, unknown or malformed "
        "argument, as the `ceph` CLI checks them) with 400 naming it. An admin key runs any other "
        "command; a read-only key only those that the cluster's own command table (the mon's "
        "and mgr's command descriptions) marks as only reading (`status`, `df`, `osd tree`, "
        "`pg dump`...), and never config-key reads. Answers the job at once, or with "
        "`?wait=1` once it ended."
    ),
)
async def create_request(body: RequestBody, commands: CommandRunnerDep) -> Response:
    return await commands.run(body.waves())


@router.delete(
    "",
    response_model=CleanedJobs,
    operation_id="delete_finished_requests",
    summary="Delete the finished jobs",
    description=(
        "Remove all the finished requests.\n\n"
        "Drops every finished job from the job table; the unfinished ones stay. Needs an "
        "admin key."
    ),
)
async def delete_finished_requests(jobs: JobTableDep, _key: AdminKeyDep) -> dict[str, int]:
    cleaned, remaining = await jobs.delete_finished_records()
    return {"cleaned": cleaned, "remaining": remaining}


@router.get(
    "/{request_id}",
    response_model=Job,
    operation_id="get_request",
    summary="Get a job",
    description=(
        "Show the information for the request id.\n\n"
        f"The job as it stands; 404 when there is no such job. {_JOB_TABLE}"
    ),
)
async def get_request(request_id: RequestId, jobs: JobTableDep, _key: KeyDep) -> dict[str, Any]:
    job = await jobs.get_record(request_id)
    if job is None:
        raise NotFound(f'Unknown request id "{request_id}"')
    return job


@router.delete(
    "/{request_id}",
    response_model=Job,
    operation_id="delete_request",
    summary="Delete a job",
    description=(
        "Remove the request id from the database.\n\n"
        "Drops the job and answers it as it stood. A running job's commands already sent are "
        "left to finish, and its later waves never start. 404 when there is no such job. "
        "Needs an admin key."
    ),
)
async def delete_request(
    request_id: RequestId, jobs: JobTableDep, _key: AdminKeyDep
) -> dict[str, Any]:
    job = await jobs.delete_record(request_id)
    if job is None:
        raise NotFound(f'No such request id "{request_id}"')
    return job
