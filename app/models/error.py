"""The one error body every failure is answered with, and the errors each route declares."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ValidationIssue(BaseModel):
    """One problem found in a request."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"loc": ["body", "pg_num"], "msg": "Field required", "type": "missing"},
            ]
        }
    )

    loc: list[str | int] = Field(description="Where the problem is, e.g. ['body', 'pg_num'].")
    msg: str = Field(description="What is wrong.")
    type: str = Field(description="Machine-readable kind of problem.")


class ErrorResponse(BaseModel):
    """An error; `message` is the key the restful module used, so old clients read it."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"message": 'Failed to identify the pool id "999"'},
                {
                    "message": "body.pg_num: Field required",
                    "errors": [
                        {"loc": ["body", "pg_num"], "msg": "Field required", "type": "missing"}
                    ],
                },
            ]
        }
    )

    message: str = Field(description="What went wrong, for a person.")
    errors: list[ValidationIssue] | None = Field(
        default=None, description="Every problem found, for a request that failed validation."
    )


Responses = dict[int | str, dict[str, Any]]

_ERROR_TEXTS: dict[int, str] = {
    400: "Bad request: an invalid parameter, or Ceph refused it as invalid.",
    401: "Missing or wrong credentials.",
    403: "The key's role does not allow this, or Ceph refused it.",
    404: "No such resource.",
    413: "The request body is larger than the gateway's limit (setting max_body_bytes).",
    422: "The request body failed validation (on the routes that take one).",
    429: (
        "Too many failed authentications from this client address (or for this key name "
        "from it); retry after the Retry-After seconds."
    ),
    502: "Ceph answered with an unexpected error.",
    503: "The cluster is not reachable; retry after the Retry-After seconds.",
    504: "The cluster did not answer in time.",
}


def error_responses(*codes: int) -> Responses:
    """`responses=` declaring each of `codes` with the one error model and its usual text."""
    return {code: error_response(_ERROR_TEXTS[code]) for code in codes}


def error_response(description: str) -> dict[str, Any]:
    """One error status, declared with the one error model and the route's own text."""
    return {"model": ErrorResponse, "description": description}


# Every route that takes a body: a body over the limit is refused before it is read.
BODY_ERRORS: Responses = error_responses(413)

# Every router whose routes take a key (applied with APIRouter(responses=...)): the key's
# errors (401, 403, and 429 once a client failed too often), a bad parameter (400) or body
# (422), and those of reaching Ceph. The public routes
# (/, /doc, /healthz, /readyz) declare their own, and no 401/403.
KEYED_ERRORS: Responses = error_responses(400, 401, 403, 404, 422, 429, 502, 503, 504)
