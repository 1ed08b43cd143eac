"""What the OpenAPI description says of the API as a whole: its prose, and one tag a resource."""

from __future__ import annotations

from importlib.metadata import version
from typing import Any

TITLE = "cephgw"
# Written once, in pyproject.toml.
VERSION = version("cephgw")
SUMMARY = "The Ceph manager restful module's REST API, served from outside the manager."

DESCRIPTION = """\
The REST API of Ceph's manager `restful` module — same paths, same JSON — served by a
process of its own that talks to the cluster through librados.

**Authentication.** HTTP Basic: the user is a key's name, the password the key. Keys made by
`ceph restful create-key` work as admin keys (unless the gateway runs with
`--no-legacy-keys`); `cephgw create-key` makes admin or read-only ones. Reads take any key,
writes an admin key. `/`, `/doc`, `/healthz`, `/readyz` and this description need none.

**Writes are jobs.** Every change to the cluster (POST, PATCH and DELETE on /pool, PATCH
/osd/{osd_id}, POST /osd/{osd_id}/command, PATCH /config/osd, POST /request) starts a job of
mon commands in waves, as the module's "requests" were, and answers it at once (200, usually
still `pending`). With `?wait=1` (or `true`) the answer waits until the job ends, up to the
gateway's `job_wait_timeout` (then 202, the job as it stands). Follow a job on
/request/{request_id}; a command Ceph refused is in the job's `failed`, with its `outs` and
`errno`.

**Errors** are one JSON body, `{"message": ...}` (the module's key), with the status that
fits: 400 bad parameter, 401 no or wrong key, 403 read-only key or refused, 404 not found,
409 clash with the cluster's state, 422 invalid body (with `errors`), 502 unexpected Ceph
error, 503 cluster unreachable (with Retry-After), 504 Ceph too slow.
"""

# One tag per resource, in the order of the module's /doc, then the gateway's own.
OPENAPI_TAGS: list[dict[str, Any]] = [
    {"name": "root", "description": "What the API is and how to authenticate."},
    {
        "name": "config",
        "description": "The active mgr's configuration options, and the OSD map flags.",
    },
    {"name": "crush", "description": "CRUSH rules, with the OSDs each can reach."},
    {"name": "mon", "description": "Monitors: the monmap, the quorum and their hosts."},
    {
        "name": "osd",
        "description": "OSDs: their state, weights, addresses and pools; mark them in, out "
        "or down, reweight them, scrub or repair them.",
    },
    {"name": "perf", "description": "Performance counters of the mons and OSDs."},
    {"name": "pool", "description": "Pools: read, create, change and delete them."},
    {
        "name": "request",
        "description": "Jobs (the module's requests): follow and drop them, or run any mon "
        "command as one.",
    },
    {"name": "server", "description": "Hosts and the Ceph daemons on each."},
    {
        "name": "doc",
        "description": "The module's endpoint map, or Swagger UI for a browser (ReDoc on "
        "/redoc, this description on /openapi.json).",
    },
    {
        "name": "health",
        "description": "Liveness and readiness probes for a load balancer or an "
        "orchestrator; no key.",
    },
    {"name": "metrics", "description": "The gateway's own metrics, for Prometheus."},
]
