"""Dependency aliases the routers use: the Ceph client, and the key a request carries."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from app.auth import Identity, KeyStore, Role, basic_auth, require_role
from app.ceph.client import CephClient
from app.ceph.commands import CommandTableCache
from app.errors import Forbidden, Unauthorized
from app.jobs import JobTable
from app.metrics import GatewayMetrics
from app.settings import Settings


def get_ceph(request: Request) -> CephClient:
    ceph: CephClient = request.state.ceph
    return ceph


def get_key_store(request: Request) -> KeyStore:
    keys: KeyStore = request.state.keys
    return keys


def get_settings(request: Request) -> Settings:
    settings: Settings = request.state.settings
    return settings


def get_jobs(request: Request) -> JobTable:
    jobs: JobTable = request.state.jobs
    return jobs


def get_command_tables(request: Request) -> CommandTableCache:
    commands: CommandTableCache = request.state.commands
    return commands


CephDep = Annotated[CephClient, Depends(get_ceph)]
CommandTablesDep = Annotated[CommandTableCache, Depends(get_command_tables)]
JobTableDep = Annotated[JobTable, Depends(get_jobs)]
KeyStoreDep = Annotated[KeyStore, Depends(get_key_store)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


async def require_key(
    request: Request,
    keys: KeyStoreDep,
    credentials: Annotated[tuple[str, str] | None, Depends(basic_auth)],
) -> Identity:
    """Any valid key (admin or read-only)."""
    if credentials is None:
        _auth_failed(request, "missing")
        raise Unauthorized("Authentication required: HTTP Basic with a key name and key")
    try:
        identity = await keys.authenticate(*credentials)
    except Unauthorized:
        _auth_failed(request, "invalid")
        raise
    request.state.key_name = identity.name  # for the access log
    return identity


KeyDep = Annotated[Identity, Depends(require_key)]


async def require_admin_key(request: Request, identity: KeyDep) -> Identity:
    """An admin key."""
    try:
        return require_role(identity, Role.ADMIN)
    except Forbidden:
        _auth_failed(request, "forbidden")
        raise


def _auth_failed(request: Request, reason: str) -> None:
    metrics: GatewayMetrics = request.state.metrics
    metrics.auth_failed(reason)


AdminKeyDep = Annotated[Identity, Depends(require_admin_key)]


async def check_key_before_body(request: Request) -> None:
    """The key checks a malformed JSON body must not jump ahead of.

    FastAPI decodes a JSON body before any dependency runs, so `{"name": ` would answer 422
    to a caller with no key or the wrong role. The validation handler calls this first: the
    key, then the admin role where the route itself depends on it (POST /request does not:
    a read-only key may run commands that only read, which only its body can tell).
    """
    identity = await require_key(request, get_key_store(request), await basic_auth(request))
    route = request.scope.get("route")
    if isinstance(route, APIRoute) and _depends_on(route.dependant, require_admin_key):
        await require_admin_key(request, identity)


def _depends_on(dependant: Dependant, call: object) -> bool:
    return dependant.call is call or any(_depends_on(d, call) for d in dependant.dependencies)
