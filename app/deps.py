"""Dependency aliases the routers use: the Ceph client, and the key a request carries."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from app.auth import Identity, KeyStore, Role, basic_auth, require_role
from app.ceph.client import CephClient
from app.errors import Unauthorized
from app.jobs import JobTable
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
        raise Unauthorized("Authentication required: HTTP Basic with a key name and key")
    identity = await keys.authenticate(*credentials)
    request.state.key_name = identity.name  # for the access log
    return identity


KeyDep = Annotated[Identity, Depends(require_key)]


async def require_admin_key(identity: KeyDep) -> Identity:
    """An admin key."""
    return require_role(identity, Role.ADMIN)


AdminKeyDep = Annotated[Identity, Depends(require_admin_key)]
