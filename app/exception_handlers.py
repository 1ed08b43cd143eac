"""The app's exception handlers: every error is one JSON body (`app.models.error`), with the
status its exception or Starlette's says; validation errors too."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from app.deps import check_key_before_body
from app.errors import GatewayError
from app.models.error import ErrorResponse, ValidationIssue


def _error(
    status: int,
    message: str,
    headers: dict[str, str] | None = None,
    issues: list[ValidationIssue] | None = None,
) -> JSONResponse:
    body = ErrorResponse(message=message, errors=issues)
    return JSONResponse(body.model_dump(exclude_none=True), status_code=status, headers=headers)


async def _gateway_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, GatewayError)
    return _error(exc.status_code, exc.message, exc.headers)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    # Starlette's own 404/405 for unknown paths get the same body as every other error.
    assert isinstance(exc, StarletteHTTPException)
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = allowed_methods(request)
    return _error(exc.status_code, str(exc.detail), headers or None)


_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


def allowed_methods(request: Request) -> str:
    """The `Allow` of a 405: every method the request's path has, over all of its routes.

    Starlette's names only the methods of the first route of the path (a path's GET and
    PATCH are two routes): RFC 9110 wants those the resource supports. Each method is asked
    of the app's routes as the router asks (a router included in the app matches as one).
    """
    routes = request.app.router.routes
    return ", ".join(
        method
        for method in _METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] is Match.FULL for route in routes
        )
    )


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    if any(e.get("type") == "json_invalid" for e in exc.errors()):
        try:
            await check_key_before_body(request)
        except GatewayError as auth_error:
            return await _gateway_error(request, auth_error)
    issues = [
        ValidationIssue(
            loc=list(e.get("loc", ())), msg=str(e.get("msg", "")), type=str(e.get("type", ""))
        )
        for e in exc.errors()
    ]
    # A bad path or query parameter, or a body that is not JSON at all, is a bad request; a
    # JSON body that fails its schema is a 422.
    not_json = any(i.type == "json_invalid" for i in issues)
    in_body = any(i.loc and i.loc[0] == "body" for i in issues)
    message = (
        "; ".join(f"{'.'.join(str(p) for p in i.loc)}: {i.msg}" for i in issues)
        or "invalid request"
    )
    if not_json:
        error = next(e for e in exc.errors() if e.get("type") == "json_invalid")
        loc = list(error.get("loc", ()))
        where = f" at character {loc[1]}" if len(loc) > 1 else ""
        reason = (error.get("ctx") or {}).get("error", error.get("msg", ""))
        message = f"the request body is not JSON: {reason}{where}"
    return _error(422 if in_body and not not_json else 400, message, issues=issues)


def install_exception_handlers(app: FastAPI) -> None:
    app.add_exception_handler(GatewayError, _gateway_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
