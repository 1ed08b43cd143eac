"""Routes of /config/."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/config", tags=["config"])
