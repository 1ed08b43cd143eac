"""Schema of /doc, the module's endpoint map it answers with, and where the doc UIs live."""

from __future__ import annotations

import importlib.resources
from pathlib import Path
from typing import Any, Final

from pydantic import ConfigDict, RootModel

# path → HTTP method → the lines of that handler's docstring.
EndpointLines = dict[str, dict[str, list[str]]]

# The restful module's /doc, verbatim: it walks the module's controllers and their
# docstrings, so it is a fixed description of the module's API that clients may read. It
# lists every endpoint of that API (`<arg>` for a path parameter), whether this gateway has
# mounted it yet or not.
RESTFUL_ENDPOINT_MAP: Final[EndpointLines] = {
    "/": {
        "GET": [
            "Show the basic information for the REST API",
            "This includes values like api version or auth method",
        ]
    },
    "/config/cluster": {"GET": ["Show all cluster configuration options"]},
    "/config/cluster/<arg>": {"GET": ["Show specific configuration option"]},
    "/config/osd": {
        "GET": ["Show OSD configuration options"],
        "PATCH": ["Modify OSD configuration options"],
    },
    "/crush/rule": {"GET": ["Show crush rules"]},
    "/doc": {"GET": ["Show documentation information"]},
    "/mon": {"GET": ["Show the information for all the monitors"]},
    "/mon/<arg>": {"GET": ["Show the information for the monitor name"]},
    "/osd": {"GET": ["Show the information for all the OSDs"]},
    "/osd/<arg>": {
        "GET": ["Show the information for the OSD id"],
        "PATCH": ["Modify the state (up, in) of the OSD id or reweight it"],
    },
    "/osd/<arg>/command": {
        "GET": ["Show implemented commands for the OSD id"],
        "POST": ["Run the implemented command for the OSD id"],
    },
    "/perf": {
        "GET": [
            "List all the available performance counters",
            "",
            "Options:",
            " - 'daemon' -- filter by daemon, accepts Python regexp",
        ]
    },
    "/pool": {
        "GET": ["Show the information for all the pools"],
        "POST": ["Create a new pool", "Requires name and pg_num dict arguments"],
    },
    "/pool/<arg>": {
        "DELETE": ["Remove the pool data for the pool id"],
        "GET": ["Show the information for the pool id"],
        "PATCH": ["Modify the information for the pool id"],
    },
    "/request": {
        "DELETE": ["Remove all the finished requests"],
        "GET": ["List all the available requests"],
        "POST": ["Pass through method to create any request"],
    },
    "/request/<arg>": {
        "DELETE": ["Remove the request id from the database"],
        "GET": ["Show the information for the request id"],
    },
    "/server": {"GET": ["Show the information for all the servers"]},
    "/server/<arg>": {"GET": ["Show the information for the server fqdn"]},
}

# A few entries of the map.
ENDPOINT_MAP_EXAMPLE: Final[dict[str, Any]] = {
    path: RESTFUL_ENDPOINT_MAP[path] for path in ("/", "/osd/<arg>", "/pool", "/server/<arg>")
}


class EndpointMap(RootModel[EndpointLines]):
    """The restful module's map of its API: path (`<arg>` for a path parameter) → HTTP method
    → the lines of that endpoint's documentation. Always the module's own, verbatim."""

    model_config = ConfigDict(json_schema_extra={"examples": [ENDPOINT_MAP_EXAMPLE]})


# ---- The browsable docs: Swagger UI on /doc for a browser, ReDoc on /redoc, the spec on
# /openapi.json. Their JavaScript and CSS come from the fastapi-standalone-docs package and
# are served by cephgw itself under /doc/static/: the machines that run it may have no way
# out to a CDN.

OPENAPI_URL: Final = "/openapi.json"
ASSETS_URL: Final = "/doc/static"


def assets_dir() -> Path:
    """The folder of fastapi-standalone-docs' static files (swagger/, redoc/, fastapi/)."""
    return Path(str(importlib.resources.files("fastapi_standalone_docs") / "static"))


# Paths under ASSETS_URL (and assets_dir()) that the two HTML pages load.
SWAGGER_JS: Final = "swagger/swagger-ui-bundle.js"
SWAGGER_CSS: Final = "swagger/swagger-ui.css"
REDOC_JS: Final = "redoc/redoc.standalone.js"
FAVICON: Final = "fastapi/favicon.png"
ASSETS: Final = (SWAGGER_JS, SWAGGER_CSS, REDOC_JS, FAVICON)

# Swagger UI's options (FastAPI's defaults are kept for the rest). The key is not kept in
# the browser's localStorage across reloads (persistAuthorization), as it would be in clear.
SWAGGER_UI_PARAMETERS: Final[dict[str, Any]] = {
    "persistAuthorization": False,
    "displayRequestDuration": True,
    "filter": True,
    "docExpansion": "list",
    "defaultModelsExpandDepth": 0,
    "tryItOutEnabled": False,
}

# GET /doc's two answers, for the spec: JSON unless the client prefers HTML.
DOC_RESPONSES: Final[dict[int | str, dict[str, Any]]] = {
    200: {
        "description": (
            "The restful module's endpoint map (JSON); Swagger UI (HTML) for a client that "
            "prefers `text/html` to `application/json`, as a browser does."
        ),
        "content": {
            "text/html": {
                "schema": {
                    "type": "string",
                    "examples": ["<!DOCTYPE html><html><head>...<title>cephgw - Swagger UI"],
                }
            }
        },
    }
}
