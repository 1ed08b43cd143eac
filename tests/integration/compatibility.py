"""The deliberate differences from the restful module, and the leaves that change too fast to
compare: the table behind docs/compatibility.md (test_differential.py checks that the document
quotes every entry), used by the live differential tests and by the comparison with the
module's recorded answers.
"""

from __future__ import annotations

from pathlib import Path

from tests.integration.differential import (
    ANY,
    CONTENT_TYPE,
    STATUS,
    Known,
    Volatile,
    pointer,
)

COMPATIBILITY_DOC = Path(__file__).parents[2] / "docs" / "compatibility.md"

# Leaves whose values are compared by JSON type only. Keep this short: each entry hides values.
_MON_BUSY = (
    "the mon serves the gateway's and the module's own commands while we read, and the mgr's"
    " copy of its counters is up to mgr_stats_period (5 s) old"
)
VOLATILE: tuple[Volatile, ...] = tuple(
    Volatile("/perf*", pointer("mon.*", counter, field), _MON_BUSY)
    for counter in ("paxos.*", "rocksdb.*", "mon.num_sessions", "mon.session_*")
    for field in ("value", "count")
)

_NOT_FOUND = "not found is 404 Not Found; the module answers 500 (same JSON body)"
_BAD_INPUT = "a malformed path or query value is a JSON 400; the module crashes into an HTML 500"
_HTML = "errors are always JSON; the module answers its framework's HTML page"
_AUTH_MESSAGE = "401 messages do not tell an unknown key name from a wrong key"
_UNKNOWN_OPTION = "an unknown option is 404 with a message; the module answers 200 and null"
_OBJECTER_PRIORITY = (
    "the mgr keeps the priority an OSD first declared, before or after the OSD lowered it by 3"
)

# -- per release. Against the module of Reef and later (live on Reef, recorded from Reef for
# the others), and where a release's own maps differ from the recorded cluster's.
ALL_RELEASES = frozenset({"pacific", "reef", "tentacle"})
_PACIFIC_RULE = (
    "Quincy dropped ruleset, min_size and max_size from CRUSH rules; cephgw keeps them, with "
    "Pacific's values, for the module's clients"
)
_OWN_OPTIONS = "each release has options of its own, and drops others"
_OWN_COUNTERS = "each release's daemons have counters of their own, and drop others"
_OWN_POOL_KEYS = "each release's OSD map prints the pool fields it has (passed through)"
_POOL_DATA = (
    "which applications a pool has is the pool's own (.mgr, device_health_metrics, the rados "
    "job store's cephgw...)"
)
_OWN_MON_KEYS = "Tentacle's monmap prints when each mon was added (passed through)"


def _per_release(
    endpoints: tuple[str, ...],
    places: tuple[str, ...],
    kinds: tuple[str, ...],
    reason: str,
    releases: frozenset[str],
) -> tuple[Known, ...]:
    return tuple(
        Known(endpoint, place, kind, reason, releases=releases)
        for endpoint in endpoints
        for place in places
        for kind in kinds
    )


PER_RELEASE: tuple[Known, ...] = (
    *_per_release(
        ("/crush/rule",),
        ("$/*/ruleset", "$/*/min_size", "$/*/max_size"),
        ("extra",),
        _PACIFIC_RULE,
        ALL_RELEASES,
    ),
    *_per_release(
        ("/config/cluster",),
        ("$/*",),
        ("missing", "extra"),
        _OWN_OPTIONS,
        frozenset({"pacific", "tentacle"}),
    ),
    *_per_release(
        ("/perf", "/perf?daemon=osd.0"),
        ("$/*/*",),
        ("missing", "extra"),
        _OWN_COUNTERS,
        frozenset({"pacific", "tentacle"}),
    ),
    *_per_release(
        ("/pool", "/pool/{pool}"),
        ("$/read_balance", "$/*/read_balance"),
        ("missing",),
        _OWN_POOL_KEYS,
        frozenset({"pacific"}),
    ),
    *_per_release(
        ("/pool", "/pool/{pool}"),
        (
            "$/is_stretch_pool",
            "$/*/is_stretch_pool",
            "$/nonprimary_shards",
            "$/*/nonprimary_shards",
            "$/read_balance/score_type",
            "$/*/read_balance/score_type",
        ),
        ("extra",),
        _OWN_POOL_KEYS,
        frozenset({"tentacle"}),
    ),
    *_per_release(
        ("/pool",),
        ("$/*/application_metadata/*",),
        ("missing", "extra"),
        _POOL_DATA,
        frozenset({"pacific", "reef", "tentacle"}),
    ),
    *_per_release(
        ("/mon", "/mon/a"),
        ("$/time_added", "$/*/time_added"),
        ("extra",),
        _OWN_MON_KEYS,
        frozenset({"tentacle"}),
    ),
)

KNOWN_DIFFERENCES: tuple[Known, ...] = (
    *PER_RELEASE,
    # Not found: same {"message": ...} body, another status.
    *(
        Known(path, STATUS, "status", _NOT_FOUND, gateway=404, module=500)
        for path in ("/pool/999", "/osd/99", "/osd/99/command", "/mon/zz")
    ),
    # Unknown cluster configuration option.
    Known("/config/cluster/no_such_option", STATUS, "status", _UNKNOWN_OPTION, 404, 200),
    Known("/config/cluster/no_such_option", "$", "type", _UNKNOWN_OPTION, ANY, None),
    # Malformed input: JSON 400 instead of an HTML 500.
    *(
        known
        for path in ("/pool/abc", "/osd?pool=abc", "/perf?daemon=(")
        for known in (
            Known(path, STATUS, "status", _BAD_INPUT, gateway=400, module=500),
            Known(path, CONTENT_TYPE, "content-type", _BAD_INPUT, "application/json", "text/html"),
        )
    ),
    # An unknown path: the same 404, but JSON.
    Known("/no/such/path", CONTENT_TYPE, "content-type", _HTML, "application/json", "text/html"),
    # Four OSD counters whose priority the module shows as the OSD first declared it: lowered
    # by 3 early in the OSD's start-up or not, a race; cephgw shows the daemon's own schema.
    *(
        Known("/perf*", f"$/osd.*/objecter.{counter}/priority", "value", _OBJECTER_PRIORITY, *prio)
        for counter, prio in (
            ("op_active", (7, 10)),
            ("op_r", (7, 10)),
            ("op_w", (7, 10)),
            ("op_rmw", (5, 8)),
        )
    ),
    # Failed authentication: the same 401 and JSON shape, another message.
    Known(
        "/pool (no credentials)",
        "$/message",
        "value",
        _AUTH_MESSAGE,
        ANY,
        "auth: No HTTP username/password",
    ),
    Known(
        "/pool (unknown key name)", "$/message", "value", _AUTH_MESSAGE, ANY, "auth: No such user"
    ),
    Known(
        "/pool (wrong key)", "$/message", "value", _AUTH_MESSAGE, ANY, "auth: Incorrect password"
    ),
)
