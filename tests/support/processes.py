"""CPU time and memory of a process and its descendants (granian serves from a child
process), from /proc: for the benchmarks, and for tests that bound what a request costs."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class ProcessFigures:
    """CPU time (user + system, in seconds) and resident memory of a process and its children.

    `rss` adds up each process' resident set, so pages that granian's supervisor and worker
    share (the interpreter, libraries) count twice; `pss` counts each shared page once,
    split between the processes that map it: the memory the whole gateway takes (what its
    cgroup is charged, page cache aside). `largest_rss` is the resident set of the biggest
    process alone: granian's worker, which holds the app, its caches and its jobs (what
    `ps` shows for it).
    """

    cpu: float
    rss: int  # bytes
    pss: int  # bytes
    largest_rss: int  # bytes

    def __add__(self, other: ProcessFigures) -> ProcessFigures:
        return ProcessFigures(
            self.cpu + other.cpu,
            self.rss + other.rss,
            self.pss + other.pss,
            max(self.largest_rss, other.largest_rss),
        )


def _stat_fields(pid: int) -> list[str]:
    """/proc/PID/stat after the command name (which may hold spaces): field 3 of stat(5) on."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def children(pid: int) -> list[int]:
    """The processes whose parent is PID."""
    out: list[int] = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int(_stat_fields(int(entry.name))[1]) == pid:  # field 4: the parent
                    out.append(int(entry.name))
            except (OSError, IndexError, ValueError):
                pass
    return out


def _own_figures(pid: int) -> ProcessFigures:
    fields = _stat_fields(pid)
    utime, stime = int(fields[11]), int(fields[12])  # fields 14 and 15 of stat(5)
    kib = {"Rss:": 0, "Pss:": 0}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        name, _, rest = line.partition(" ")
        if name in kib:
            kib[name] = int(rest.split()[0])
    rss, pss = kib["Rss:"] * 1024, kib["Pss:"] * 1024
    return ProcessFigures((utime + stime) / CLOCK_TICKS, rss, pss, rss)


def process_figures(pid: int) -> ProcessFigures:
    """`pid` and its descendants (granian serves from a child process) added up."""
    total = _own_figures(pid)
    for child in children(pid):
        try:
            sub = process_figures(child)
        except OSError:  # gone meanwhile
            continue
        total += sub
    return total
