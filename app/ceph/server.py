"""Ceph calls and pure shaping for servers (hosts).

The module's /server is the mgr's index of daemons grouped by the `hostname` of their
metadata. Out of process the same metadata comes from `mon|mgr|osd|mds metadata` (mon
commands) and, for service daemons such as rgw or rbd-mirror, from the mgr's `service dump`.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import TypeAdapter

from app.ceph.client import CephClient
from app.ceph.concurrency import gather
from app.ceph.shaping import find_entry
from app.ceph.state import Answer, Reading, answer, render
from app.errors import CephError
from app.models.server import Server

if TYPE_CHECKING:
    from app.ceph.maps import ClusterMaps

log = logging.getLogger(__name__)

SERVER_LIST = TypeAdapter(list[Server])
SERVER = TypeAdapter(Server)

# Daemon type → the key naming the daemon in that type's `<type> metadata` list.
METADATA_ID_KEYS = {"mon": "name", "mgr": "name", "osd": "id", "mds": "name"}


@dataclass(frozen=True)
class Daemon:
    """One daemon the cluster holds metadata for."""

    type: str
    id: str
    metadata: Mapping[str, Any]
    # Service daemons carry their own name in metadata `id` (their map key is a gid).
    name: str | None = None


def core_daemons(daemon_type: str, metadata: Sequence[Mapping[str, Any]]) -> list[Daemon]:
    """The daemons of one `<type> metadata` list.

    Entries without a `hostname` are daemons whose metadata the mons do not hold (yet):
    the mgr's index leaves those out, and so do we.
    """
    id_key = METADATA_ID_KEYS[daemon_type]
    return [
        Daemon(daemon_type, str(m[id_key]), m) for m in metadata if id_key in m and "hostname" in m
    ]


def service_daemons(service_dump: Mapping[str, Any]) -> list[Daemon]:
    """The daemons of the service map (`services.<type>.daemons.<key>.metadata`)."""
    daemons = []
    for service_type, service in (service_dump.get("services") or {}).items():
        for key, daemon in (service.get("daemons") or {}).items():
            # `summary` is a string next to the daemon entries.
            if not isinstance(daemon, Mapping):
                continue
            metadata = daemon.get("metadata") or {}
            if "hostname" not in metadata:
                continue
            name = metadata.get("id")
            daemons.append(Daemon(service_type, str(key), metadata, str(name) if name else None))
    return daemons


def shape_server(hostname: str, daemons: Iterable[Daemon]) -> dict[str, Any]:
    """One host as the module shows it.

    Services are sorted by (type, id) as strings (osd "10" before "2"), as in the mgr's
    index. `ceph_version` is a running value, as in the mgr: a daemon without one shows the
    previous daemon's, and the host shows the last daemon's ("" for a host without daemons).
    """
    ceph_version = ""
    services = []
    for daemon in sorted(daemons, key=lambda d: (d.type, d.id)):
        ceph_version = str(daemon.metadata.get("ceph_version", ceph_version))
        service: dict[str, Any] = {
            "type": daemon.type,
            "id": daemon.id,
            "ceph_version": ceph_version,
        }
        if daemon.name:
            service["name"] = daemon.name
        services.append(service)
    return {"hostname": hostname, "services": services, "ceph_version": ceph_version}


def shape_servers(daemons: Iterable[Daemon]) -> list[dict[str, Any]]:
    """Every host with daemons, sorted by host name."""
    by_host: dict[str, dict[tuple[str, str], Daemon]] = {}
    for daemon in daemons:
        # A (type, id) listed twice keeps its first metadata, the mons' own over the service map.
        by_host.setdefault(str(daemon.metadata["hostname"]), {}).setdefault(
            (daemon.type, daemon.id), daemon
        )
    return [shape_server(host, by_host[host].values()) for host in sorted(by_host)]


def find_server(servers: Sequence[dict[str, Any]], hostname: str) -> dict[str, Any]:
    """The entry of `hostname`; an unknown host is an empty one (HTTP 200), as in the module."""
    return find_entry(servers, "hostname", hostname) or shape_server(hostname, [])


async def read_service_dump(ceph: CephClient) -> dict[str, Any]:
    """The mgr's service map; empty without an active mgr or when the mgr fails to answer.

    `service dump` is answered by the mgr, whereas the metadata of mons, mgrs, OSDs and MDSs
    comes from the mons: without a mgr, those still make a useful answer. `mgr stat` (a mon
    command) tells first whether a mgr is active, so that a mgr outage costs one quick
    call instead of a command that waits for the whole timeout.
    """
    try:
        mgr_stat = await ceph.mon_json({"prefix": "mgr stat"}) or {}
        if not mgr_stat.get("available"):
            log.warning("no active mgr: listing servers without service daemons")
            return {}
        dump: dict[str, Any] = await ceph.mgr_json({"prefix": "service dump"}) or {}
    except CephError as exc:
        log.warning("service dump failed, listing servers without service daemons: %s", exc)
        return {}
    return dump


async def all_daemons(ceph: CephClient) -> list[Daemon]:
    """Every daemon with metadata: mons, mgrs, OSDs, MDSs, then service daemons."""
    types = list(METADATA_ID_KEYS)
    *metadata_lists, service_dump = await gather(
        [
            *(functools.partial(ceph.mon_json, {"prefix": f"{t} metadata"}) for t in types),
            lambda: read_service_dump(ceph),
        ]
    )
    daemons = []
    for daemon_type, metadata in zip(types, metadata_lists, strict=True):
        daemons.extend(core_daemons(daemon_type, metadata or []))
    daemons.extend(service_daemons(service_dump))
    return daemons


def _servers(reading: Reading[list[Daemon]]) -> list[dict[str, Any]]:
    return reading.snapshot.derive("servers", lambda: shape_servers(reading.value))


async def list_servers(maps: ClusterMaps) -> Answer:
    """Every host that runs a daemon, sorted by name."""
    reading = await maps.daemons.get()
    return answer(reading, "servers", lambda: _servers(reading), SERVER_LIST, exclude_unset=True)


async def get_server(maps: ClusterMaps, hostname: str) -> Answer:
    """One host; an unknown one has no services."""
    reading = await maps.daemons.get()
    server = find_server(_servers(reading), hostname)
    # Not kept per host name: a client may ask for any name.
    return Answer(render(SERVER, server, exclude_unset=True), reading.age, reading.stale)
