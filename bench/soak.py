"""A soak: minutes of mixed reads and writes at 16 connections, and the gateway's memory
through it (`make soak`, not part of `make test`).

A throwaway 3-OSD cluster and `cephgw serve` over TLS; wrk, one Lua script cycling through
the reads (/osd, /osd/0, /pool, /mon, /server, /crush/rule, /config/osd, /perf?daemon=osd.0)
and the writes (POST /request?wait=1 of `osd stat`, of `status`, and of a `config-key set`,
which changes the cluster: the cache is invalidated every few requests). Every 30 s the
gateway's RSS and PSS (its processes added up) and its job table (from /metrics) are
printed; at the end the figures: requests, statuses, errors, RSS and PSS at the end of the
warm-up (the first minute), at the end and at their highest, and how far they moved after
the warm-up.

    .venv/bin/python bench/soak.py --minutes 10
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import get_args

import harness
import httpx
import wrk_runner

from app.settings import ServerName, Settings
from tests.support import TEST_POOL
from tests.support.metrics import total

SAMPLE_EVERY = 30.0
WARM_UP = 60.0
CONNECTIONS = 16
# The job table's bound (job_max_finished's default), less the few jobs running at a time.
JOB_TABLE_FULL = Settings.model_fields["job_max_finished"].default - 20

# The mix: every read target once, every write once, in turn on each connection.
READS = ("/osd", "/osd/0", "/pool", "/mon", "/server", "/crush/rule", "/config/osd",
         "/perf?daemon=osd.0")  # fmt: skip
WRITES = (
    {"prefix": "osd stat", "format": "json"},
    {"prefix": "status", "format": "json"},
    {"prefix": "config-key set", "key": "cephgw-soak/counter", "val": "1"},
)

_SCRIPT = """\
local requests = {{}}
function init(args)
  statuses = {{}}
  -- Headers given to wrk.format replace wrk's own (-H): keep Authorization.
  local json_headers = {{["Content-Type"] = "application/json"}}
  for name, value in pairs(wrk.headers) do json_headers[name] = value end
{reads}
{writes}
  position = 0
end
function request()
  position = position % #requests + 1
  return requests[position]
end
"""


def mix_script(directory: Path) -> Path:
    reads = "\n".join(f'  table.insert(requests, wrk.format("GET", "{p}"))' for p in READS)
    writes = "\n".join(
        '  table.insert(requests, wrk.format("POST", "/request?wait=1", '
        f"json_headers, [==[{json.dumps(w)}]==]))"
        for w in WRITES
    )
    path = directory / "mix.lua"
    path.write_text(_SCRIPT.format(reads=reads, writes=writes) + wrk_runner.STATUS_COUNTER)
    return path


@dataclass(frozen=True)
class Sample:
    at: float  # seconds into the load
    rss: float  # MiB
    pss: float  # MiB
    largest_rss: float  # MiB
    jobs: float  # in the job table


def memory_mib(pid: int) -> tuple[float, float, float]:
    """The gateway's RSS and PSS (granian's supervisor and its worker added up), and the
    RSS of its largest process (the worker)."""
    figures = harness.process_figures(pid)
    mib = harness.MIB
    return figures.rss / mib, figures.pss / mib, figures.largest_rss / mib


def jobs_held(server: harness.Server) -> float:
    """The job table's size, from the gateway's own /metrics (all states added up)."""
    text = httpx.get(
        f"{server.url}/metrics", auth=server.auth, verify=server.trust, timeout=10
    ).text
    return total(text, "cephgw_jobs")


def moved(samples: list[Sample], name: str, since: float) -> float:
    """How far (%) the highest value after `since` is above the first one from then."""
    values: list[float] = [getattr(x, name) for x in samples if x.at >= since]
    if not values:
        return 0.0
    return (max(values) - values[0]) / values[0] * 100


def soak(minutes: float, server: str) -> int:
    with (
        tempfile.TemporaryDirectory(prefix="cephgw-soak-") as tmp,
        harness.throwaway_cluster(pools=(TEST_POOL,)) as cluster,
    ):
        work = Path(tmp)
        port = harness.free_port()
        with harness.serve_gateway(
            cluster, port, work / "serve.log", env={"CEPHGW_SERVER": server}
        ) as gateway:
            pid = gateway.pid
            assert pid is not None, "serve_gateway starts its own process"
            duration = minutes * 60
            samples: list[Sample] = []
            started = time.monotonic()
            args = ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{duration:g}s", "--timeout=30s"]
            args += ["-H", f"Authorization: {harness.basic_auth_header(gateway.auth)}"]
            args += ["-s", str(mix_script(work)), gateway.url]
            with subprocess.Popen(
                args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
            ) as wrk:
                stop = threading.Event()

                def sample() -> None:
                    while not stop.wait(SAMPLE_EVERY):
                        at = time.monotonic() - started
                        taken = Sample(at, *memory_mib(pid), jobs_held(gateway))
                        samples.append(taken)
                        print(
                            f"soak: {at:5.0f} s  RSS {taken.rss:6.1f} MiB  PSS {taken.pss:6.1f} "
                            f"MiB  worker RSS {taken.largest_rss:6.1f} MiB  jobs "
                            f"{taken.jobs:6.0f}",
                            flush=True,
                        )

                sampler = threading.Thread(target=sample, daemon=True)
                sampler.start()
                output, _ = wrk.communicate(timeout=duration + 120)
                stop.set()
            samples.append(Sample(duration, *memory_mib(pid), jobs_held(gateway)))
    figures = wrk_runner.parse_wrk(output)
    requests, statuses = figures["requests"], figures["statuses"]
    errors = sum(n for s, n in statuses.items() if s >= 300)
    socket = {kind: n for kind, n in figures["socket_errors"].items() if n}
    print()
    print(f"soak: {minutes:g} min of mixed load at {CONNECTIONS} connections, {server}")
    by_status = dict(sorted(statuses.items()))
    print(f"  requests {requests} ({requests / duration:.0f}/s), statuses {by_status}")
    print(f"  errors: {errors} answers >= 300; socket errors: {socket or 'none'}")
    labels = {"rss": "RSS", "pss": "PSS", "largest_rss": "worker RSS"}
    # Two later starts as well: once the job table is full (it grows to its bound by design),
    # and the second half of the run (whether it still grows).
    full_at = next((x.at for x in samples if x.jobs >= JOB_TABLE_FULL), duration)
    for name, label in labels.items():
        values = [getattr(x, name) for x in samples]
        base = next(getattr(x, name) for x in samples if x.at >= WARM_UP)
        print(
            f"  {label} after the warm-up {base:.1f} MiB, at the end {values[-1]:.1f} "
            f"MiB, highest {max(values):.1f} MiB; moved "
            f"{moved(samples, name, WARM_UP):+.1f}% after the warm-up, "
            f"{moved(samples, name, full_at):+.1f}% after the job table was full "
            f"({full_at:.0f} s), {moved(samples, name, duration / 2):+.1f}% in the second half"
        )
    print(f"  job table at the end: {samples[-1].jobs:.0f} jobs")
    return 1 if errors or socket else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="how long (default: 10)")
    parser.add_argument(
        "--server", choices=get_args(ServerName), default="granian", help="default: granian"
    )
    args = parser.parse_args()
    return soak(args.minutes, args.server)


if __name__ == "__main__":
    sys.exit(main())
