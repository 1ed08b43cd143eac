"""Routes of /crush/."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/crush", tags=["crush"])
