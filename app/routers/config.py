"""Routes of /config/."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Response

from app.ceph import config as config_ceph
from app.deps import AdminKeyDep, JobRunnerDep, KeyDep, MapsDep
from app.models.config import ClusterConfig, ConfigOptionValue, OsdFlags, OsdFlagsUpdate
from app.models.error import BODY_ERRORS, KEYED_ERRORS
from app.models.request import JOB_RESPONSES, JOB_STARTED, Job
from app.routers.route import JsonBodyRoute, ResourceRouter, answered

router = ResourceRouter(
    prefix="/config", tags=["config"], responses=KEYED_ERRORS, route_class=JsonBodyRoute
)

OptionName = Annotated[
    str,
    Path(description="A configuration option's name.", examples=["osd_pool_default_size"]),
]


@router.get(
    "/cluster",
    response_model=ClusterConfig,
    operation_id="get_cluster_config",
    summary="Get the cluster configuration",
    description=(
        "Show all cluster configuration options.\n\n"
        "The active mgr's own configuration, which the module served from its mgr's memory: "
        "`config show` sent to the active mgr (named by `mgr stat`). Every value is a string, "
        "metavariables ($name, $id...) expanded; `name` is the mgr's. 503 when no mgr is "
        "active."
    ),
)
async def get_cluster_config(maps: MapsDep, _key: KeyDep) -> Response:
    return answered(await config_ceph.get_cluster_config(maps))


@router.get(
    "/cluster/{key}",
    response_model=ConfigOptionValue,
    operation_id="get_cluster_config_option",
    summary="Get a cluster configuration option",
    description=(
        "Show specific configuration option.\n\n"
        "One option of GET /config/cluster (`config show` on the active mgr): its value, a "
        "JSON string. 404 for an unknown option (the module answered `null`)."
    ),
)
async def get_cluster_config_option(key: OptionName, maps: MapsDep, _key: KeyDep) -> Response:
    return answered(await config_ceph.get_cluster_config_option(maps, key))


@router.get(
    "/osd",
    response_model=OsdFlags,
    operation_id="list_osd_flags",
    summary="List OSD flags",
    description=(
        "Show OSD configuration options.\n\n"
        "The flags of the OSD map (`osd dump`), in map order; `pauserd,pausewr` is shown as "
        '`pause`, the flag a client sets. `[""]` when none is set, as in the module.'
    ),
)
async def list_osd_flags(maps: MapsDep, _key: KeyDep) -> Response:
    return answered(await config_ceph.list_osd_flags(maps))


@router.patch(
    "/osd",
    response_model=Job,
    responses={**JOB_RESPONSES, **BODY_ERRORS},
    response_description=JOB_STARTED,
    operation_id="update_osd_flags",
    summary="Set or unset OSD flags",
    description=(
        "Modify OSD configuration options.\n\n"
        "Starts a job of one wave: `osd set <flag>` for each flag given `true`, `osd unset "
        "<flag>` for each given `false`; the flags left out stay as they are. An unknown "
        "flag is a 400 naming it, and nothing is applied (the module applied the others). "
        "Needs an admin key. Answers the job at once, or with `?wait=1` once it ended."
    ),
)
async def update_osd_flags(body: OsdFlagsUpdate, jobs: JobRunnerDep, _key: AdminKeyDep) -> Response:
    waves = config_ceph.osd_flag_commands(body.flags())
    return await jobs.run(waves)
