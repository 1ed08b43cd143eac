"""Ceph calls for pools: everything comes from `osd dump`."""

from __future__ import annotations

from typing import Any

from app.ceph.client import CephClient
from app.ceph.shaping import shape_pool
from app.errors import NotFound


async def osd_dump(ceph: CephClient) -> dict[str, Any]:
    dump: dict[str, Any] = await ceph.mon_json({"prefix": "osd dump"})
    return dump


def shape_pools(dump: dict[str, Any]) -> list[dict[str, Any]]:
    return [shape_pool(p) for p in dump.get("pools", [])]


def find_pool(pools: list[dict[str, Any]], pool_id: int) -> dict[str, Any]:
    for pool in pools:
        if pool.get("pool") == pool_id:
            return pool
    raise NotFound(f'Failed to identify the pool id "{pool_id}"')


async def list_pools(ceph: CephClient) -> list[dict[str, Any]]:
    """Every pool, in the order of the OSD map."""
    return shape_pools(await osd_dump(ceph))


async def get_pool(ceph: CephClient, pool_id: int) -> dict[str, Any]:
    """One pool by id; 404 when there is none."""
    return find_pool(await list_pools(ceph), pool_id)
