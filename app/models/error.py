"""The one error body every failure is answered with."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class ValidationIssue(BaseModel):
    """One problem found in a request."""

    loc: list[str | int] = Field(description="Where the problem is, e.g. ['body', 'pg_num'].")
    msg: str = Field(description="What is wrong.")
    type: str = Field(description="Machine-readable kind of problem.")


class ErrorResponse(BaseModel):
    """An error; `message` is the key the restful module used, so old clients read it."""

    message: str = Field(description="What went wrong, for a person.")
    errors: list[ValidationIssue] | None = Field(
        default=None, description="Every problem found, for a request that failed validation."
    )


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse, "description": text}
    for code, text in {
        400: "Bad request: an invalid parameter, or Ceph refused it as invalid.",
        401: "Missing or wrong credentials.",
        403: "The key's role does not allow this, or Ceph refused it.",
        404: "No such resource.",
        422: "The request body failed validation.",
        502: "Ceph answered with an unexpected error.",
        503: "The cluster is not reachable; retry after the Retry-After seconds.",
        504: "The cluster did not answer in time.",
    }.items()
}
