"""Routes of /osd/."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/osd", tags=["osd"])
