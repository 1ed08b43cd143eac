"""The OSD map (`osd dump`): pools, OSDs and flags all come from it."""

from __future__ import annotations

from typing import Any

from app.ceph.client import CephClient


async def osd_dump(ceph: CephClient) -> dict[str, Any]:
    """The whole OSD map, as `ceph osd dump --format json` prints it."""
    dump: dict[str, Any] = await ceph.mon_json({"prefix": "osd dump"})
    return dump
