"""Ceph calls and pure shaping for performance counters.

The module's /perf is the mgr's copy of the counters the daemons report to it. Out of
process, each daemon is asked directly: `perf schema` + `perf histogram schema` (what each
counter is) and `perf dump` (its value), over `osd_command` for an OSD and a mon command
targeted at one mon. rgw, rbd-mirror and tcmu-runner have no remote perf command and MDSs
need libcephfs, so /perf covers mons and OSDs.

Schemas are large (tens of KB per daemon) and change only when a daemon restarts, so they
are cached per daemon (`PerfSchemaCache`); a request then costs one `perf dump` per daemon.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import re2
from pydantic import TypeAdapter

from app.ceph.client import CephClient
from app.ceph.concurrency import gather
from app.ceph.state import Answer, CachedMap, Reading, get_all, render
from app.errors import BadRequest, CephError, ServiceUnavailable
from app.models.perf import DaemonPerfCounters, PerfCounters

if TYPE_CHECKING:
    from app.ceph.maps import ClusterMaps

PERF_COUNTERS = TypeAdapter(PerfCounters)
# An answer is its daemons' counters, each rendered once per snapshot (`_rendered`), joined
# as PERF_COUNTERS would write the whole (`join_daemon_counters`): not rendered per request.
DAEMON_PERF_COUNTERS = TypeAdapter(DaemonPerfCounters)
_DAEMON_NAME = TypeAdapter(str)

log = logging.getLogger(__name__)

# PerfCounters type bits (common/perf_counters.h).
TYPE_TIME = 1
TYPE_LONGRUNAVG = 4
TYPE_HISTOGRAM = 16

# PerfCountersBuilder priorities: the module asks the mgr for PRIO_USEFUL and up.
PRIO_USEFUL = 5

# The module shows a counter's unit as the C++ enum value (UNIT_BYTES, UNIT_NONE).
UNIT_BYTES = 0
UNIT_NONE = 1
UNITS = {"bytes": UNIT_BYTES, "none": UNIT_NONE}

# A user's `?daemon=` pattern: bounded in length, and RE2 matches in linear time.
MAX_DAEMON_PATTERN_LENGTH = 256
# Also bounds the memory of each compiled pattern re2 keeps in its cache of recent ones.
RE2_MAX_MEM = 1 << 20

# Daemons asked at once by one request: leaves room in the client's thread pool for others.
PERF_CONCURRENCY = 8

NANOSECONDS_PER_SECOND = 1_000_000_000

# section → counter → schema entry, as `perf schema` prints it.
Schema = dict[str, dict[str, dict[str, Any]]]
DaemonMatcher = Callable[[str], bool]


def _re2_options() -> re2.Options:
    options = re2.Options()
    options.log_errors = False  # a client's typo is a 400, not a line in our log
    options.max_mem = RE2_MAX_MEM
    return options


# Made once, never changed: re2 keeps the patterns it compiled with them, so a request
# repeating a pattern costs a cache look-up.
_RE2_OPTIONS = _re2_options()


@dataclass(frozen=True)
class PerfDaemon:
    """A daemon whose counters can be read remotely."""

    type: str
    id: str
    # Changes whenever the daemon restarts, which is when its schema may change.
    incarnation: int

    @property
    def name(self) -> str:
        return f"{self.type}.{self.id}"


# -- input ------------------------------------------------------------------------------------


def compile_daemon_filter(pattern: str | None) -> DaemonMatcher:
    """`?daemon=` as a matcher: the pattern must match at the start of the name (`re.match`).

    RE2 instead of `re`: a pattern such as `(a*)*b` cannot make it backtrack for ages.
    """
    if pattern is None:
        return lambda _name: True
    if len(pattern) > MAX_DAEMON_PATTERN_LENGTH:
        raise BadRequest(
            f"daemon: the pattern is longer than {MAX_DAEMON_PATTERN_LENGTH} characters"
        )
    try:
        regexp = re2.compile(pattern, _RE2_OPTIONS)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else "invalid pattern"
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        raise BadRequest(f"daemon: invalid regular expression: {reason}") from exc
    return lambda name: regexp.match(name) is not None


def perf_daemons(osd_map: Mapping[str, Any], quorum_status: Mapping[str, Any]) -> list[PerfDaemon]:
    """The mons in quorum and the up OSDs, sorted by (type, id) as the module lists them.

    A down OSD (or a mon out of quorum) cannot answer; the module would still show the
    mgr's last, stale copy of its counters.
    """
    # Every mon restart starts an election: the epoch marks a new incarnation of the mons.
    election_epoch = int(quorum_status.get("election_epoch", 0))
    daemons = [
        PerfDaemon("mon", name, election_epoch) for name in quorum_status.get("quorum_names", [])
    ]
    daemons += [
        PerfDaemon("osd", str(osd["osd"]), int(osd.get("up_from", 0)))
        for osd in osd_map.get("osds", [])
        if osd.get("up")
    ]
    return sorted(daemons, key=lambda d: (d.type, d.id))


def parse_perf_json(outb: bytes) -> Any:
    """A perf command's JSON with its decimals kept exact (time values print 9 decimals)."""
    return json.loads(outb, parse_float=Decimal) if outb else {}


def stats_threshold(value: Any) -> int:
    """`mgr_stats_threshold` as `config get` prints it (an int, or a string on some releases)."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return PRIO_USEFUL


# -- shaping ----------------------------------------------------------------------------------


def merge_schemas(schema: Mapping[str, Any], histogram_schema: Mapping[str, Any]) -> Schema:
    """`perf schema` plus `perf histogram schema`: histogram counters are only in the second."""
    merged: Schema = {section: dict(counters) for section, counters in schema.items()}
    for section, counters in histogram_schema.items():
        merged.setdefault(section, {}).update(counters)
    return merged


def dump_paths(dump: Mapping[str, Any]) -> set[tuple[str, str]]:
    return {(section, name) for section, counters in dump.items() for name in counters}


def schema_matches_dump(schema: Schema, dump: Mapping[str, Any]) -> bool:
    """Whether `dump` lists exactly the non-histogram counters of `schema`.

    `perf dump` leaves histograms out. A mismatch means the daemon's counters changed since
    the schema was read (a restart the incarnation missed): the schema must be read again.
    """
    scalar_paths = {
        (section, name)
        for section, counters in schema.items()
        for name, entry in counters.items()
        if not int(entry.get("type", 0)) & TYPE_HISTOGRAM
    }
    return scalar_paths == dump_paths(dump)


def seconds_to_ns(seconds: Decimal | int | str) -> int:
    """A time counter (seconds with 9 decimals in `perf dump`) as the module's integer ns."""
    return int(Decimal(seconds) * NANOSECONDS_PER_SECOND)


def counter_value(counter_type: int, raw: Any) -> tuple[int, int | None]:
    """(value, count) of one counter from its `perf dump` entry; count only for averages.

    Histograms read 0 (the mgr's latest-value copy has none). Time values are integer ns.
    An average's value is its sum and its count the number of samples.
    """
    is_time = bool(counter_type & TYPE_TIME)
    if counter_type & TYPE_HISTOGRAM:
        return 0, None
    if counter_type & TYPE_LONGRUNAVG:
        raw = raw if isinstance(raw, Mapping) else {}
        total = raw.get("sum", 0)
        count = int(raw.get("avgcount", 0))
        return (seconds_to_ns(total) if is_time else int(total)), count
    if raw is None:
        return 0, None
    return (seconds_to_ns(raw) if is_time else int(raw)), None


def shape_counter(entry: Mapping[str, Any], raw: Any) -> dict[str, Any]:
    """One counter as the module shows it: schema fields, then `value` (and `count`)."""
    counter_type = int(entry.get("type", 0))
    units = entry.get("units", "none")
    counter: dict[str, Any] = {"description": entry.get("description", "")}
    # The mgr keeps no empty nick.
    if entry.get("nick"):
        counter["nick"] = entry["nick"]
    counter["type"] = counter_type
    # The schema's priority is the one the module showed (checked live: OSD objecter counters
    # read 7/7/7/5 there too; the 10/10/10/8 once recorded is a start-up race in the mgr).
    counter["priority"] = int(entry.get("priority", 0))
    # An int is already the enum; an unknown name would be a unit newer than the module's two.
    counter["units"] = units if isinstance(units, int) else UNITS.get(units, UNIT_NONE)
    value, count = counter_value(counter_type, raw)
    counter["value"] = value
    if count is not None:
        counter["count"] = count
    return counter


def shape_daemon_counters(
    schema: Schema, dump: Mapping[str, Any], min_priority: int
) -> dict[str, dict[str, Any]]:
    """`<section>.<counter>` → counter, for counters shown at `min_priority` and above."""
    counters = {}
    for section, entries in schema.items():
        values = dump.get(section) or {}
        for name, entry in entries.items():
            if int(entry.get("priority", 0)) < min_priority:
                continue
            counters[f"{section}.{name}"] = shape_counter(entry, values.get(name))
    return counters


def min_shown_priority(threshold: int) -> int:
    """The module asks for PRIO_USEFUL and up; daemons send the mgr only counters at or above
    `mgr_stats_threshold`, so a higher threshold hides more."""
    return max(PRIO_USEFUL, threshold)


# -- cache ------------------------------------------------------------------------------------


class PerfSchemaCache:
    """Merged perf schemas per daemon, valid while the daemon's incarnation is unchanged.

    One per app (lifespan state); requests only read and replace whole entries, so the
    single event loop needs no lock. Two requests missing at once both read the schema.
    """

    def __init__(self) -> None:
        self._entries: dict[str, tuple[int, Schema]] = {}

    def get(self, daemon: PerfDaemon) -> Schema | None:
        entry = self._entries.get(daemon.name)
        if entry is None or entry[0] != daemon.incarnation:
            return None
        return entry[1]

    def put(self, daemon: PerfDaemon, schema: Schema) -> None:
        self._entries[daemon.name] = (daemon.incarnation, schema)

    def retain(self, names: Iterable[str]) -> None:
        """Forget daemons no longer up (removed or down ones come back as new incarnations)."""
        keep = set(names)
        for name in [n for n in self._entries if n not in keep]:
            del self._entries[name]

    def __len__(self) -> int:
        return len(self._entries)


# -- Ceph calls -------------------------------------------------------------------------------


async def tell(ceph: CephClient, daemon: PerfDaemon, command: Mapping[str, Any]) -> Any:
    """Run a daemon's own command (what `ceph tell <daemon>` runs)."""
    if daemon.type == "osd":
        outb = await ceph.aosd_command(int(daemon.id), command)
    else:
        outb = await ceph.amon_command(command, target=daemon.id)
    return parse_perf_json(outb)


async def read_schema(ceph: CephClient, daemon: PerfDaemon) -> Schema:
    schema, histogram_schema = await gather(
        [
            lambda: tell(ceph, daemon, {"prefix": "perf schema"}),
            lambda: tell(ceph, daemon, {"prefix": "perf histogram schema"}),
        ]
    )
    return merge_schemas(schema or {}, histogram_schema or {})


# One daemon's counters as read: its schema and its `perf dump`; None when it cannot be asked.
DaemonPerf = tuple[Schema, dict[str, Any]] | None


async def read_daemon_perf(
    ceph: CephClient, cache: PerfSchemaCache, daemon: PerfDaemon
) -> DaemonPerf:
    """One daemon's schema and counters; None when it cannot be asked (down, timed out)."""
    try:
        cached = cache.get(daemon)
        if cached is None:
            dump, schema = await gather(
                [
                    lambda: tell(ceph, daemon, {"prefix": "perf dump"}),
                    lambda: read_schema(ceph, daemon),
                ]
            )
            cache.put(daemon, schema)
        else:
            dump = await tell(ceph, daemon, {"prefix": "perf dump"})
            schema = cached
            # A fresh schema read next to the dump is trusted; only a cached one is checked.
            if not schema_matches_dump(cached, dump or {}):
                schema = await read_schema(ceph, daemon)
                cache.put(daemon, schema)
    except CephError as exc:
        log.warning("no perf counters from %s: %s", daemon.name, exc.message)
        return None
    return schema, dump or {}


async def read_stats_threshold(ceph: CephClient) -> int:
    # Only where `ceph config set` puts it; a failure is the default, not a failed request.
    try:
        value = await ceph.mon_json(
            {"prefix": "config get", "who": "mgr", "key": "mgr_stats_threshold"}
        )
    except CephError as exc:
        log.warning("cannot read mgr_stats_threshold, assuming %d: %s", PRIO_USEFUL, exc.message)
        return PRIO_USEFUL
    return stats_threshold(value)


async def get_perf_counters(
    maps: ClusterMaps, cache: PerfSchemaCache, daemon_pattern: str | None = None
) -> Answer:
    """`<type>.<id>` → its counters, for the daemons whose name `daemon_pattern` matches."""
    matches = compile_daemon_filter(daemon_pattern)
    osd, mon, threshold = await get_all([maps.osd, maps.mon, maps.stats_threshold])
    daemons = perf_daemons(osd.value.dump, mon.value.quorum_status)
    cache.retain(d.name for d in daemons)
    maps.forget_perf({_perf_key(d) for d in daemons})
    # Filter before asking: `?daemon=osd.0` costs one daemon's calls, not the cluster's.
    wanted = [d for d in daemons if matches(d.name)]
    min_priority = min_shown_priority(threshold.value)

    counters = [
        maps.perf(_perf_key(d), functools.partial(read_daemon_perf, maps.ceph, cache, d))
        for d in wanted
    ]

    async def read_one(
        daemon: PerfDaemon, cached: CachedMap[DaemonPerf]
    ) -> Reading[DaemonPerf] | None:
        try:
            return await cached.get()
        except ServiceUnavailable:
            # Nothing known of it yet, and it did not answer in time: left out, as a daemon
            # that cannot be asked is.
            log.warning("no perf counters from %s yet: it did not answer in time", daemon.name)
            return None

    # The counters kept young enough are read at once; only the others are asked for.
    readings: list[Reading[DaemonPerf] | None] = [cached.peek() for cached in counters]
    missing = [i for i, reading in enumerate(readings) if reading is None]
    if missing:
        asked = await gather(
            [functools.partial(read_one, wanted[i], counters[i]) for i in missing],
            limit=PERF_CONCURRENCY,
        )
        for i, reading in zip(missing, asked, strict=True):
            readings[i] = reading
    parts = []
    for daemon, reading in zip(wanted, readings, strict=True):
        rendered = _rendered(reading, min_priority) if reading is not None else None
        # Like the module, a daemon with no counter at this priority is left out.
        if rendered is not None:
            parts.append((daemon.name, rendered))
    every = [osd, mon, threshold, *(r for r in readings if r is not None)]
    return Answer(
        join_daemon_counters(parts),
        age=max(r.age for r in every),
        stale=any(r.stale for r in every),
    )


def join_daemon_counters(parts: Iterable[tuple[str, bytes]]) -> bytes:
    """(daemon name, its counters as DAEMON_PERF_COUNTERS renders them) → the bytes
    PERF_COUNTERS renders for the whole dict."""
    return (
        b"{" + b",".join(_DAEMON_NAME.dump_json(name) + b":" + body for name, body in parts) + b"}"
    )


def _perf_key(daemon: PerfDaemon) -> str:
    # A daemon that restarted is another one: its counters start over.
    return f"{daemon.name}@{daemon.incarnation}"


def _shaped(reading: Reading[DaemonPerf], min_priority: int) -> dict[str, dict[str, Any]]:
    perf = reading.value
    if perf is None:
        return {}
    schema, dump = perf
    return reading.snapshot.derive(
        ("counters", min_priority), lambda: shape_daemon_counters(schema, dump, min_priority)
    )


def _rendered(reading: Reading[DaemonPerf], min_priority: int) -> bytes | None:
    """One daemon's counters as PerfCounters serializes them, rendered once per snapshot (a
    request joins them: it costs what it returns); None when it has none to show."""

    def render_counters() -> bytes | None:
        shaped = _shaped(reading, min_priority)
        return render(DAEMON_PERF_COUNTERS, shaped, exclude_unset=True) if shaped else None

    return reading.snapshot.derive(("rendered", min_priority), render_counters)
