"""Routes of /server/."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Response

from app.ceph import server as server_ceph
from app.deps import KeyDep, MapsDep
from app.models.error import KEYED_ERRORS
from app.models.server import Server
from app.routers.route import ResourceRouter, answered

router = ResourceRouter(prefix="/server", tags=["server"], responses=KEYED_ERRORS)

HostName = Annotated[
    str, Path(description="The host's name, as its daemons report it.", examples=["vm"])
]


# exclude_unset: `name` appears only on the service daemons that have one, as in the module.
@router.get(
    "",
    response_model=list[Server],
    response_model_exclude_unset=True,
    operation_id="list_servers",
    summary="List servers",
    description=(
        "Show the information for all the servers.\n\n"
        "Every host running a daemon, by name, with its daemons: the `hostname` of the mon, "
        "mgr, OSD and MDS metadata (`<type> metadata`) and of the mgr's service map "
        "(`service dump`, for rgw, rbd-mirror...). Without an active mgr, the service "
        "daemons are left out."
    ),
)
async def list_servers(maps: MapsDep, _key: KeyDep) -> Response:
    return answered(await server_ceph.list_servers(maps))


@router.get(
    "/{fqdn}",
    response_model=Server,
    response_model_exclude_unset=True,
    operation_id="get_server",
    summary="Get a server",
    description=(
        "Show the information for the server fqdn.\n\n"
        "One entry of GET /server. An unknown host is answered 200 with no services and an "
        "empty `ceph_version`, as in the module."
    ),
)
async def get_server(fqdn: HostName, maps: MapsDep, _key: KeyDep) -> Response:
    return answered(await server_ceph.get_server(maps, fqdn))
