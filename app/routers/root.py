"""Routes of /."""

from __future__ import annotations

from fastapi import APIRouter

from app.models.root import API_INFO, ApiInfo

# Public: no key, so no 401/403; nothing else can fail.
router = APIRouter(prefix="", tags=["root"])


# No key, as in the module: it only says how to use the API.
@router.get(
    "/",
    response_model=ApiInfo,
    operation_id="get_api_info",
    summary="Get API information",
    description=(
        "Show the basic information for the REST API.\n\n"
        "The module's answer, verbatim: the API version, how to authenticate and where the "
        "documentation is. Static text: no key needed, and no call to Ceph."
    ),
)
async def get_api_info() -> ApiInfo:
    return API_INFO
