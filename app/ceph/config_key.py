"""Ceph calls for the config-key store, where keys and certificates live."""

from __future__ import annotations

from typing import Any

from app.ceph.client import CephClient
from app.errors import CephError


async def get(ceph: CephClient, key: str) -> str | None:
    """The value stored under `key`, or None when there is none."""
    try:
        out = await ceph.amon_command({"prefix": "config-key get", "key": key})
    except CephError as exc:
        if exc.status_code == 404:
            return None
        raise
    return out.decode("utf-8")


async def put(ceph: CephClient, key: str, value: str) -> None:
    await ceph.amon_command({"prefix": "config-key set", "key": key, "val": value})


async def remove(ceph: CephClient, key: str) -> None:
    await ceph.amon_command({"prefix": "config-key rm", "key": key})


async def dump(ceph: CephClient, prefix: str) -> dict[str, str]:
    """Every key that starts with `prefix`, with its value."""
    data: Any = await ceph.mon_json({"prefix": "config-key dump", "key": prefix})
    if not isinstance(data, dict):
        return {}
    # Older releases ignore the prefix argument; filter here so the answer is the same.
    return {k: str(v) for k, v in data.items() if k.startswith(prefix)}
