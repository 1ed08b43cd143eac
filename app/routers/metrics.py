"""Route of /metrics: Prometheus' text format."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from app.auth import basic_auth
from app.deps import MetricsDep, SettingsDep, require_key
from app.metrics import CONTENT_TYPE
from app.models.error import error_responses

# Any key (none with `metrics_public`): a 401 (429 once a client failed too often), never a
# 403; 503 until the keys are read.
router = APIRouter(prefix="", tags=["metrics"], responses=error_responses(401, 429, 503))

METRICS_EXAMPLE = """\
# HELP cephgw_http_requests_total HTTP requests answered, by route template, method and status.
# TYPE cephgw_http_requests_total counter
cephgw_http_requests_total{method="GET",route="/osd",status="200"} 42.0
"""


@router.get(
    "/metrics",
    operation_id="get_metrics",
    response_class=Response,
    responses={
        200: {
            "description": "Prometheus text format 0.0.4, or OpenMetrics if Accept asks.",
            "content": {
                CONTENT_TYPE: {"schema": {"type": "string", "examples": [METRICS_EXAMPLE]}}
            },
        }
    },
    summary="Get the gateway's Prometheus metrics",
    description=(
        "Show this gateway's metrics (any key, or none with `metrics_public`).\n\n"
        "Requests and their latency by route template and status, librados command latency "
        "by command prefix, authentication failures, jobs by state, and the process' own, "
        "in Prometheus' text format (OpenMetrics when the Accept header asks for it). Not a "
        "route of the module."
    ),
)
async def get_metrics(
    request: Request,
    metrics: MetricsDep,
    settings: SettingsDep,
    credentials: Annotated[tuple[str, str] | None, Depends(basic_auth)],
) -> Response:
    if not settings.metrics_public:
        await require_key(request, credentials)
    # On the event loop, not in a thread: the job table it reads is only touched here.
    body, content_type = metrics.render(request.headers.get("accept", ""))
    return Response(body, media_type=content_type)
