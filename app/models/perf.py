"""Schema of /perf."""

from __future__ import annotations

from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field, RootModel

# Three counters of the module's GET /perf?daemon=osd.0 on a test cluster: an integer gauge
# (no count), a counter, and a long-run average (with its count, and a nick it lacks).
DAEMON_COUNTERS_EXAMPLE: Final[dict[str, Any]] = {
    "osd.numpg": {
        "description": "Placement groups",
        "nick": "pgs",
        "priority": 5,
        "type": 2,
        "units": 1,
        "value": 0,
    },
    "osd.op_r": {
        "description": "Client read operations",
        "priority": 5,
        "type": 10,
        "units": 1,
        "value": 0,
    },
    "osd.op_latency": {
        "description": "Latency of client operations (including queue time)",
        "nick": "l",
        "priority": 9,
        "type": 5,
        "units": 1,
        "value": 0,
        "count": 0,
    },
}


class PerfCounter(BaseModel):
    """One performance counter: its schema and its latest value."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={"examples": list(DAEMON_COUNTERS_EXAMPLE.values())},
    )

    description: str = Field(description="What the counter counts.")
    nick: str | None = Field(
        default=None, description="Short name for `ceph daemonperf`; absent when it has none."
    )
    type: int = Field(
        description="Bitmask: 1 time, 2 integer, 4 long-run average, 8 counter, 16 histogram."
    )
    priority: int = Field(description="0 (debug only) to 10 (critical); /perf shows 5 and up.")
    units: int = Field(description="0 bytes, 1 none.")
    value: int = Field(
        description=(
            "Latest value. Time counters in integer nanoseconds; for an average, the sum of "
            "its samples; 0 for a histogram."
        )
    )
    count: int | None = Field(
        default=None, description="Averages only: how many samples `value` sums; else absent."
    )


class DaemonPerfCounters(RootModel[dict[str, PerfCounter]]):
    """One daemon's counters: `<section>.<counter>` (e.g. `osd.op_r`) → counter."""

    model_config = ConfigDict(json_schema_extra={"examples": [DAEMON_COUNTERS_EXAMPLE]})


class PerfCounters(RootModel[dict[str, DaemonPerfCounters]]):
    """Daemon name (`osd.0`, `mon.a`) → its counters, for every mon and up OSD asked."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"osd.0": DAEMON_COUNTERS_EXAMPLE}]})
