"""Routes of /server/."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/server", tags=["server"])
