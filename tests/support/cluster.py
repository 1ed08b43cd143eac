"""The test cluster as Ceph's own CLI sees it, and keys made in it as `cephgw create-key` does."""

from __future__ import annotations

import json
import subprocess
import uuid
from typing import Any

import anyio

from app.auth import KeyStore, Role
from app.ceph.client import open_client
from app.settings import Settings
from cli.dev_cluster import DevCluster


def ceph_cli(cluster: DevCluster, *args: str, timeout: float = 60) -> str:
    """Run Ceph's own CLI against the test cluster: the independent witness of its state."""
    return subprocess.run(
        ["ceph", "-c", str(cluster.conf), "--connect-timeout", "10", *args],
        check=True,
        capture_output=True,
        text=True,
        timeout=timeout,
    ).stdout


def ceph_cli_json(cluster: DevCluster, *args: str) -> Any:
    return json.loads(ceph_cli(cluster, *args, "--format", "json"))


def fresh_namespace(name: str) -> str:
    """A RADOS namespace no earlier run used (a cluster may be reused between runs:
    CEPHGW_TEST_CLUSTER_DIR)."""
    return f"{name}-{uuid.uuid4().hex[:8]}"


def config_key_exists(cluster: DevCluster, key: str) -> bool:
    try:
        ceph_cli(cluster, "config-key", "exists", key)
    except subprocess.CalledProcessError:
        return False
    return True


async def _create_key(settings: Settings, name: str, role: Role) -> str:
    async with open_client(settings) as ceph:
        store = KeyStore(ceph, settings)
        await store.refresh()
        if any(k.name == name for k in store.list()):
            await store.delete(name)
        return await store.create(name, role)


def create_key(settings: Settings, name: str, role: Role) -> str:
    """Make a key the way `cephgw create-key` does (deleting an old one of that name)."""
    return anyio.run(_create_key, settings, name, role)


def audit_log(cluster: DevCluster) -> list[dict[str, Any]]:
    """The audit channel's latest entries, of every level, as the mons keep them (`ceph log
    last`: at most mon_log_max_summary, 50). A daemon logs there each command it was sent
    (`from='<sender>' entity='<user>' cmd=[...]: dispatch`): a mon as `mon.a`, the mgr as
    `mgr.x`; a command the mon passes on to the mgr is logged by both, the mgr's entry then
    from the mon (`from='mon.0 -'`)."""
    entries: list[dict[str, Any]] = ceph_cli_json(cluster, "log", "last", "50", "debug", "audit")
    return entries
