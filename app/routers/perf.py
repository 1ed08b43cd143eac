"""Routes of /perf/."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/perf", tags=["perf"])
