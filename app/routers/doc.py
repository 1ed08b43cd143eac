"""Routes of /doc (the module's endpoint map, or Swagger UI for a browser) and /redoc."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.staticfiles import StaticFiles

from app.models.doc import (
    ASSETS_URL,
    DOC_RESPONSES,
    FAVICON,
    OPENAPI_URL,
    REDOC_JS,
    RESTFUL_ENDPOINT_MAP,
    SWAGGER_CSS,
    SWAGGER_JS,
    SWAGGER_UI_PARAMETERS,
    EndpointLines,
    EndpointMap,
    assets_dir,
)

# Public: no key, so no 401/403; nothing else can fail.
router = APIRouter(prefix="", tags=["doc"])

TITLE = "cephgw"


def _quality(accept: str, media_type: str) -> float:
    """The q the Accept header gives `media_type` (its most specific matching range), or 0."""
    main_type = media_type.split("/")[0]
    best_specificity, best_q = -1, 0.0
    for item in accept.split(","):
        range_, *params = (part.strip() for part in item.split(";"))
        range_ = range_.lower()
        if range_ == media_type:
            specificity = 2
        elif range_ == f"{main_type}/*":
            specificity = 1
        elif range_ == "*/*":
            specificity = 0
        else:
            continue
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = min(max(float(value), 0.0), 1.0)
                except ValueError:
                    q = 0.0
        if specificity > best_specificity:
            best_specificity, best_q = specificity, q
    return best_q


def prefers_html(accept: str | None) -> bool:
    """Whether a client would rather have HTML than JSON: a browser, not curl or old clients.

    A tie (`*/*`, no Accept, both listed alike) is JSON, the module's one answer.
    """
    if not accept:
        return False
    return _quality(accept, "text/html") > _quality(accept, "application/json")


def _root(request: Request) -> str:
    # Behind a proxy that mounts the gateway under a prefix, the pages load from there too.
    return str(request.scope.get("root_path", "")).rstrip("/")


# No key, as in the module.
@router.get(
    "/doc",
    response_model=EndpointMap,
    responses=DOC_RESPONSES,
    operation_id="get_endpoint_map",
    summary="Get the endpoint map (Swagger UI in a browser)",
    description=(
        "Show documentation information.\n\n"
        "The restful module's map of its endpoints, as JSON: path → method → the lines of "
        "its documentation, the module's own verbatim. A browser (a client that prefers "
        "`text/html` to `application/json`) gets Swagger UI instead, on this API's OpenAPI "
        "description (/openapi.json); ReDoc is on /redoc. No key needed, as in the module."
    ),
)
async def get_endpoint_map(request: Request, response: Response) -> EndpointLines | Response:
    vary = {"Vary": "Accept"}
    if not prefers_html(request.headers.get("accept")):
        response.headers.update(vary)
        return RESTFUL_ENDPOINT_MAP
    root = _root(request)
    page = get_swagger_ui_html(
        openapi_url=root + OPENAPI_URL,
        title=f"{TITLE} - Swagger UI",
        swagger_js_url=f"{root}{ASSETS_URL}/{SWAGGER_JS}",
        swagger_css_url=f"{root}{ASSETS_URL}/{SWAGGER_CSS}",
        swagger_favicon_url=f"{root}{ASSETS_URL}/{FAVICON}",
        swagger_ui_parameters=SWAGGER_UI_PARAMETERS,
    )
    page.headers.update(vary)
    return page


@router.get("/redoc", include_in_schema=False)
async def get_redoc(request: Request) -> Response:
    """ReDoc on this API's OpenAPI description."""
    root = _root(request)
    return get_redoc_html(
        openapi_url=root + OPENAPI_URL,
        title=f"{TITLE} - ReDoc",
        redoc_js_url=f"{root}{ASSETS_URL}/{REDOC_JS}",
        redoc_favicon_url=f"{root}{ASSETS_URL}/{FAVICON}",
        with_google_fonts=False,
    )


def mount_assets(app: FastAPI) -> None:
    """Serve the doc pages' JavaScript, CSS and icon under ASSETS_URL (no key needed)."""
    app.mount(ASSETS_URL, StaticFiles(directory=assets_dir()), name="doc-assets")
