"""Schema of / (the API's own description)."""

from __future__ import annotations

from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field

# The module's answer, verbatim (its `ceph restful create-key` hint included): clients
# written for the module may read these strings.
API_INFO_JSON: Final[dict[str, Any]] = {
    "api_version": 1,
    "auth": (
        'Use "ceph restful create-key <key>" to create a key pair, '
        "pass it as HTTP Basic auth to authenticate"
    ),
    "doc": "See /doc endpoint",
    "info": "Ceph Manager RESTful API server",
}


class ApiInfo(BaseModel):
    """What the module answers on /: static text, the same for every cluster."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [API_INFO_JSON]})

    api_version: int = Field(description="Version of the REST API (1).")
    auth: str = Field(description="How to authenticate.")
    doc: str = Field(description="Where the endpoint documentation is.")
    info: str = Field(description="What this server is.")


API_INFO = ApiInfo.model_validate(API_INFO_JSON)
