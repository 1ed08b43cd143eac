"""Routes of /doc/."""

from __future__ import annotations

from fastapi import APIRouter

from app.models.doc import RESTFUL_ENDPOINT_MAP, EndpointMap

router = APIRouter(prefix="/doc", tags=["doc"])


# No key, as in the module.
@router.get("", response_model=EndpointMap, operation_id="get_endpoint_map")
async def get_endpoint_map() -> EndpointMap:
    """Show documentation information."""
    return RESTFUL_ENDPOINT_MAP
