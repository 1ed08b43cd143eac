"""Ceph calls for the cluster log: what `ceph log last` shows."""

from __future__ import annotations

from app.ceph.client import CephClient


async def write(ceph: CephClient, text: str) -> None:
    """Add `text` to the cluster log (channel `cluster`, priority INF), as `ceph log TEXT`
    does; it needs the mon `allow rw` cap."""
    await ceph.amon_command({"prefix": "log", "logtext": [text]})
