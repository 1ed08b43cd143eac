"""Routes of /mon/."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/mon", tags=["mon"])
