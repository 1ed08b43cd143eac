"""The Ceph side of readiness: is the cluster reachable, now, through our connection?"""

from __future__ import annotations

import time

import anyio

from app.ceph.client import CephClient
from app.errors import GatewayError
from app.settings import Settings

# A mon command any cephx user with `mon 'allow r'` may run, answered by the mon itself
# without touching the OSDs: the cheapest proof that a mon is in quorum and talks to us.
PROBE_COMMAND = {"prefix": "version"}


async def probe_cluster(ceph: CephClient, settings: Settings) -> tuple[bool, str]:
    """(reachable, what was found): connected, and a mon answers a cheap command within
    `readiness_timeout`.

    Not shared with concurrent reads of the same command: a probe that times out is
    abandoned, and must not take a request's answer down with it.
    """
    if not ceph.connected:
        return False, f"not connected: {ceph.last_connect_error}"
    timeout = settings.readiness_timeout
    start = time.perf_counter()
    try:
        with anyio.fail_after(timeout):
            await ceph.amon_command(PROBE_COMMAND)
    except TimeoutError:
        return False, f"connected, but no mon answered within {timeout:g} s"
    except GatewayError as exc:
        return False, f"connected, but the mon command failed: {exc.message}"
    return True, f"a mon answered in {(time.perf_counter() - start) * 1000:.0f} ms"
