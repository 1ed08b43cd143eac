"""Readiness: is the cluster reachable, now, through our connection; were the keys read; is the
served certificate valid. The report /readyz answers."""

from __future__ import annotations

import datetime as dt
import time

import anyio
from cryptography import x509

from app.ceph.client import CephClient
from app.ceph.state import ClusterState
from app.errors import GatewayError
from app.models.health import Check, HealthReport
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


def tls_check(certificate: x509.Certificate | None, now: dt.datetime) -> Check:
    """Whether the certificate this process serves is valid at `now` (none: plain HTTP)."""
    if certificate is None:
        return Check(status="ok", detail="this process serves plain HTTP (no certificate)")
    not_before, not_after = certificate.not_valid_before_utc, certificate.not_valid_after_utc
    if now < not_before:
        return Check(status="unavailable", detail=f"certificate not valid before {not_before}")
    if now >= not_after:
        return Check(status="unavailable", detail=f"certificate expired at {not_after}")
    return Check(status="ok", detail=f"certificate valid until {not_after}")


def maps_check(state: ClusterState) -> Check:
    """Whether the maps reads are answered from are being refreshed."""
    failing = [m for m in state.maps() if m.failing and m.snapshot is not None]
    if not failing:
        return Check(status="ok", detail="the cluster maps are refreshed as reads need")
    oldest = max(m.age() or 0.0 for m in failing)
    names = ", ".join(sorted({m.name for m in failing}))
    return Check(
        status="degraded",
        detail=f"answering from old maps (up to {oldest:.0f} s): the cluster did not answer "
        f"the refresh of {names}",
    )


async def readiness(
    ceph: CephClient,
    settings: Settings,
    state: ClusterState,
    *,
    keys_loaded: bool,
    certificate: x509.Certificate | None,
) -> HealthReport:
    """The readiness report: the cluster answers, its maps are fresh, the API keys were read,
    the certificate holds."""
    reachable, cluster_detail = await probe_cluster(ceph, settings)
    return HealthReport.of(
        {
            "cluster": Check(status="ok" if reachable else "unavailable", detail=cluster_detail),
            "maps": maps_check(state),
            # No key count: an unauthenticated probe learns nothing about the keys.
            "keys": Check(status="ok", detail="the API keys were read from the cluster")
            if keys_loaded
            else Check(
                status="unavailable", detail="the API keys were not read from the cluster yet"
            ),
            "tls": tls_check(certificate, dt.datetime.now(dt.UTC)),
        }
    )
