"""Schemas of /healthz and /readyz (probes for a load balancer or an orchestrator)."""

from __future__ import annotations

from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

CheckStatus = Literal["ok", "degraded", "unavailable"]

# /readyz on a ready gateway, and on one whose mons stopped answering.
READY_EXAMPLE: Final[dict[str, Any]] = {
    "status": "ok",
    "checks": {
        "cluster": {"status": "ok", "detail": "a mon answered in 4 ms"},
        "keys": {"status": "ok", "detail": "the API keys were read from the cluster"},
        "tls": {"status": "ok", "detail": "certificate valid until 2027-11-25 12:00:00+00:00"},
    },
}
NOT_READY_EXAMPLE: Final[dict[str, Any]] = {
    "status": "unavailable",
    "checks": {
        "cluster": {
            "status": "unavailable",
            "detail": "connected, but no mon answered within 2 s",
        },
        "keys": {"status": "ok", "detail": "the API keys were read from the cluster"},
        "tls": {"status": "ok", "detail": "this process serves plain HTTP (no certificate)"},
    },
}


class Check(BaseModel):
    """One readiness condition."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [READY_EXAMPLE["checks"]["keys"], NOT_READY_EXAMPLE["checks"]["cluster"]]
        }
    )

    status: CheckStatus = Field(
        description=(
            "`ok`; `degraded` when it holds only in part (answers come from older maps); "
            "`unavailable` when it does not hold."
        )
    )
    detail: str = Field(description="What was found, for a person reading the probe's answer.")


class HealthReport(BaseModel):
    """A probe's answer: `ok` when every check is, `degraded` when one is (both HTTP 200),
    `unavailable` (503) when one is."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [READY_EXAMPLE, NOT_READY_EXAMPLE, {"status": "ok", "checks": {}}]
        }
    )

    status: CheckStatus = Field(
        description="The worst of the checks: `ok`, `degraded` or `unavailable`."
    )
    checks: dict[str, Check] = Field(
        description=(
            "The checks by name. /readyz: `cluster` (connected, and a mon answers), `maps` "
            "(the cluster maps reads are answered from are refreshed: `degraded` while some "
            "are served old because the cluster did not answer), `keys` (the API keys were "
            "read), `tls` (the served certificate is valid now). /healthz has none: that the "
            "process answers is its whole check."
        )
    )

    @classmethod
    def of(cls, checks: dict[str, Check]) -> HealthReport:
        statuses = {c.status for c in checks.values()}
        worst: CheckStatus = next((s for s in ("unavailable", "degraded") if s in statuses), "ok")
        return cls(status=worst, checks=checks)
