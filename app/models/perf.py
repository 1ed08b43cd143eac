"""Schema of /perf."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class PerfCounter(BaseModel):
    """One performance counter: its schema and its latest value."""

    model_config = ConfigDict(extra="allow")

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
        default=None, description="Averages only: how many samples `value` sums."
    )


# daemon (`osd.0`) → `<section>.<counter>` → counter
PerfCounters = dict[str, dict[str, PerfCounter]]
