"""Routes of /."""

from __future__ import annotations

from fastapi import APIRouter

from app.models.root import API_INFO, ApiInfo

router = APIRouter(prefix="", tags=["root"])


# No key, as in the module: it only says how to use the API.
@router.get("/", response_model=ApiInfo, operation_id="get_api_info")
async def get_api_info() -> ApiInfo:
    """Show the basic information for the REST API."""
    return API_INFO
