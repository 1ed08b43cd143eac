"""Schemas of /healthz and /readyz (probes for a load balancer or an orchestrator)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

CheckStatus = Literal["ok", "unavailable"]


class Check(BaseModel):
    """One readiness condition."""

    status: CheckStatus = Field(description="`ok`, or `unavailable` when it does not hold.")
    detail: str = Field(description="What was found, for a person reading the probe's answer.")


class HealthReport(BaseModel):
    """A probe's answer: `ok` (HTTP 200) only when every check is; else 503."""

    status: CheckStatus = Field(description="`ok` when every check is, else `unavailable`.")
    checks: dict[str, Check] = Field(
        description=(
            "The checks by name. /readyz: `cluster` (connected, and a mon answers), `keys` "
            "(the API keys were read), `tls` (the served certificate is valid now). /healthz "
            "has none: that the process answers is its whole check."
        )
    )

    @classmethod
    def of(cls, checks: dict[str, Check]) -> HealthReport:
        ok = all(c.status == "ok" for c in checks.values())
        return cls(status="ok" if ok else "unavailable", checks=checks)
