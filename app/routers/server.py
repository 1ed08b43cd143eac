"""Routes of /server/."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from app.ceph import server as server_ceph
from app.deps import CephDep, KeyDep
from app.models.server import Server

router = APIRouter(prefix="/server", tags=["server"])


# exclude_unset: `name` appears only on the service daemons that have one, as in the module.
@router.get(
    "",
    response_model=list[Server],
    response_model_exclude_unset=True,
    operation_id="list_servers",
)
async def list_servers(ceph: CephDep, _key: KeyDep) -> list[dict[str, Any]]:
    """Show the information for all the servers."""
    return await server_ceph.list_servers(ceph)


@router.get(
    "/{fqdn}",
    response_model=Server,
    response_model_exclude_unset=True,
    operation_id="get_server",
)
async def get_server(fqdn: str, ceph: CephDep, _key: KeyDep) -> dict[str, Any]:
    """Show the information for the server fqdn."""
    return await server_ceph.get_server(ceph, fqdn)
