"""Dependency aliases the routers use: the Ceph client, and the key a request carries."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from app.auth import Identity, KeyStore, Role, basic_auth, require_role
from app.ceph.client import CephClient
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


CephDep = Annotated[CephClient, Depends(get_ceph)]
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
    to a caller with no key or the wrong role. The validation handler calls this first. Every
    route taking a body changes something and needs an admin key (tests/integration/
    test_roles.py holds every route to that), so the method tells which check applies.
    """
    identity = await require_key(request, get_key_store(request), await basic_auth(request))
    if request.method not in ("GET", "HEAD"):
        await require_admin_key(request, identity)
