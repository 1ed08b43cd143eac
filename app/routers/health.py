"""Routes of /healthz and /readyz: probes for a load balancer, systemd or an orchestrator.

No key on either: a probe has none, and neither answer says more than whether (and why not)
this replica can serve. /healthz is liveness (the process answers: restart it if not);
/readyz is readiness (send it traffic only while 200).
"""

from __future__ import annotations

from fastapi import APIRouter, Response

from app.ceph import health
from app.deps import CephDep, KeyStoreDep, MapsDep, ServedCertificateDep, SettingsDep
from app.models.error import Responses
from app.models.health import HealthReport

# Public: no key, so no 401/403; /readyz's 503 is its report.
router = APIRouter(prefix="", tags=["health"])

_NOT_READY: Responses = {
    503: {"model": HealthReport, "description": "Not ready: the failing checks say why."}
}


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
    maps: MapsDep,
    keys: KeyStoreDep,
    settings: SettingsDep,
    certificate: ServedCertificateDep,
) -> HealthReport:
    report = await health.readiness(
        ceph, settings, maps.state, keys_loaded=keys.loaded, certificate=certificate
    )
    if report.status == "unavailable":
        response.status_code = 503
    return report
