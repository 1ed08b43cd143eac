"""Routes of /healthz and /readyz: probes for a load balancer, systemd or an orchestrator.

No key on either: a probe has none, and neither answer says more than whether (and why not)
this replica can serve. /healthz is liveness (the process answers: restart it if not);
/readyz is readiness (send it traffic only while 200).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from cryptography import x509
from fastapi import APIRouter, Depends, Request, Response

from app.ceph.health import probe_cluster
from app.deps import CephDep, KeyStoreDep, SettingsDep
from app.models.error import Responses
from app.models.health import Check, HealthReport

# Public: no key, so no 401/403; /readyz's 503 is its report.
router = APIRouter(prefix="", tags=["health"])

_NOT_READY: Responses = {
    503: {"model": HealthReport, "description": "Not ready: the failing checks say why."}
}


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


def _served_certificate(request: Request) -> x509.Certificate | None:
    certificate: x509.Certificate | None = request.state.tls_certificate
    return certificate


ServedCertificateDep = Annotated[x509.Certificate | None, Depends(_served_certificate)]


@router.get(
    "/healthz",
    response_model=HealthReport,
    operation_id="get_health",
    summary="Check that the gateway is alive",
    description=(
        "Tell that the gateway process is alive (liveness; no key, no cluster call).\n\n"
        "Always 200 `ok` with no checks while the process answers: restart it if not. "
        "Whether it can serve is /readyz."
    ),
)
async def get_health() -> HealthReport:
    """Tell that the gateway process is alive (liveness; no key, no cluster call)."""
    return HealthReport.of({})


@router.get(
    "/readyz",
    response_model=HealthReport,
    operation_id="get_readiness",
    responses=_NOT_READY,
    summary="Check that the gateway can serve",
    description=(
        "Tell whether this gateway can serve (readiness; no key): 200 or 503.\n\n"
        "Ready when connected to the cluster and a mon answers a cheap command (`version`) "
        "within `readiness_timeout`, the API keys were read from the cluster, and the served "
        "certificate (if any) is valid now. Send it traffic only while 200."
    ),
)
async def get_readiness(
    response: Response,
    ceph: CephDep,
    keys: KeyStoreDep,
    settings: SettingsDep,
    certificate: ServedCertificateDep,
) -> HealthReport:
    """Tell whether this gateway can serve (readiness; no key): 200 or 503."""
    reachable, cluster_detail = await probe_cluster(ceph, settings)
    checks = {
        "cluster": Check(status="ok" if reachable else "unavailable", detail=cluster_detail),
        # No key count: an unauthenticated probe learns nothing about the keys.
        "keys": Check(status="ok", detail="the API keys were read from the cluster")
        if keys.loaded
        else Check(status="unavailable", detail="the API keys were not read from the cluster yet"),
        "tls": tls_check(certificate, dt.datetime.now(dt.UTC)),
    }
    report = HealthReport.of(checks)
    if report.status != "ok":
        response.status_code = 503
    return report
