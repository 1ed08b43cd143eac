"""Routes of /config/."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from app.ceph import config as config_ceph
from app.deps import AdminKeyDep, CephDep, JobTableDep, KeyDep
from app.jobs import WaitDep, run_job
from app.models.config import ClusterConfig, OsdFlags, OsdFlagsUpdate
from app.models.request import JOB_RESPONSES, Job

router = APIRouter(prefix="/config", tags=["config"])


@router.get("/cluster", response_model=ClusterConfig, operation_id="get_cluster_config")
async def get_cluster_config(ceph: CephDep, _key: KeyDep) -> dict[str, str]:
    """Show all cluster configuration options."""
    return await config_ceph.cluster_config(ceph)


@router.get("/cluster/{key}", response_model=str, operation_id="get_cluster_config_option")
async def get_cluster_config_option(key: str, ceph: CephDep, _key: KeyDep) -> str:
    """Show specific configuration option."""
    return await config_ceph.get_cluster_config_option(ceph, key)


@router.get("/osd", response_model=OsdFlags, operation_id="list_osd_flags")
async def list_osd_flags(ceph: CephDep, _key: KeyDep) -> list[str]:
    """Show OSD configuration options."""
    return await config_ceph.list_osd_flags(ceph)


@router.patch("/osd", response_model=Job, responses=JOB_RESPONSES, operation_id="update_osd_flags")
async def update_osd_flags(
    body: OsdFlagsUpdate, response: Response, jobs: JobTableDep, wait: WaitDep, _key: AdminKeyDep
) -> dict[str, Any]:
    """Modify OSD configuration options."""
    waves = config_ceph.osd_flag_commands(body.flags())
    return await run_job(response, jobs, waves, wait)
