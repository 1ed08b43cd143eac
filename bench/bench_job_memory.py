"""Memory of the job table under many jobs: it must level off, not grow with the job count.

Submits N jobs (default 100,000) of a real, cheap mon command (`osd stat`) to an in-process
JobTable with the gateway's settings (default: keep 10,000 finished jobs for an hour), in
batches that run at once, and prints at intervals the table's size, the finished jobs' output
bytes, the process RSS and tracemalloc's view of Python allocations since the start.

    .venv/bin/python bench/bench_job_memory.py                      # on a throwaway cluster
    .venv/bin/python bench/bench_job_memory.py --conf /etc/ceph/ceph.conf \\
        --keyring /etc/ceph/ceph.client.admin.keyring --jobs 100000
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import sys
import time
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import anyio
import harness

from app.ceph.client import open_client
from app.jobs import open_job_table
from app.settings import Settings

COMMAND = {"prefix": "osd stat", "format": "json"}
MIB = 1024 * 1024


def rss_bytes() -> int:
    return harness.process_figures(os.getpid()).rss


@contextmanager
def cluster_settings(args: argparse.Namespace) -> Iterator[Settings]:
    if args.conf:
        yield Settings(conf=args.conf, keyring=args.keyring, name=args.name)
        return
    print("starting a throwaway cluster ...", flush=True)
    with harness.throwaway_cluster(osds=1, prefix="cephgw-bench-jobs-") as cluster:
        yield Settings(conf=cluster.conf, keyring=cluster.keyring, name="client.admin")


async def bench(settings: Settings, args: argparse.Namespace) -> int:
    s = settings.model_copy(
        update={k: v for k, v in (("job_max_finished", args.max_finished),) if v is not None}
    )
    async with open_client(s) as ceph, open_job_table(ceph, s) as jobs:
        warm = [jobs.submit([[COMMAND]]) for _ in range(100)]  # imports, thread pool, caches
        for job in warm:
            await job.wait()
        jobs.delete_finished()
        gc.collect()
        if args.tracemalloc:
            tracemalloc.start()
        base_rss = rss_bytes()
        base_traced = tracemalloc.get_traced_memory()[0] if args.tracemalloc else 0
        print(
            f"settings: job_max_finished={s.job_max_finished} job_ttl={s.job_ttl:.0f}s "
            f"job_command_concurrency={s.job_command_concurrency}; base RSS "
            f"{base_rss / MIB:.1f} MiB",
            flush=True,
        )
        header = (
            f"{'submitted':>9} {'table':>6} {'finished':>8} {'running':>7} {'out KiB':>8} "
            f"{'RSS MiB':>8} {'dRSS MiB':>8} {'traced MiB':>10} {'jobs/s':>7}"
        )
        print(header, flush=True)
        started = time.monotonic()
        submitted = failed = 0
        max_table = 0
        while submitted < args.jobs:
            batch = [
                jobs.submit([[COMMAND]]) for _ in range(min(args.batch, args.jobs - submitted))
            ]
            submitted += len(batch)
            max_table = max(max_table, len(jobs))
            for job in batch:
                await job.wait()
                failed += job.has_failed
            if submitted % args.every == 0 or submitted == args.jobs:
                traced = tracemalloc.get_traced_memory()[0] - base_traced if args.tracemalloc else 0
                rss = rss_bytes()
                rate = submitted / (time.monotonic() - started)
                print(
                    f"{submitted:>9} {len(jobs):>6} {jobs.finished_count:>8} "
                    f"{jobs.running_count:>7} {jobs.finished_output_bytes / 1024:>8.0f} "
                    f"{rss / MIB:>8.1f} {(rss - base_rss) / MIB:>8.1f} "
                    f"{traced / MIB:>10.2f} {rate:>7.0f}",
                    flush=True,
                )
        peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        print(
            f"done: {submitted} jobs ({failed} failed) in {time.monotonic() - started:.1f} s; "
            f"table at most {max_table} jobs, now {len(jobs)}; peak RSS {peak_rss / MIB:.1f} MiB",
            flush=True,
        )
        bounded = len(jobs) <= s.job_max_finished
        return 0 if bounded and failed == 0 else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conf", type=Path, help="ceph.conf (default: a throwaway cluster)")
    parser.add_argument("--keyring", type=Path, help="keyring of --name")
    parser.add_argument("--name", default="client.admin", help="cephx user")
    parser.add_argument("--jobs", type=int, default=100_000, help="jobs to submit")
    parser.add_argument("--batch", type=int, default=1000, help="jobs submitted at once")
    parser.add_argument("--every", type=int, default=10_000, help="print every N jobs")
    parser.add_argument(
        "--max-finished", type=int, help="job_max_finished (default: the gateway's, 10,000)"
    )
    parser.add_argument(
        "--no-tracemalloc",
        dest="tracemalloc",
        action="store_false",
        help="skip tracemalloc (it slows allocation ~2x)",
    )
    args = parser.parse_args()
    if args.every % args.batch:
        parser.error("--every must be a multiple of --batch")
    with cluster_settings(args) as settings:
        return anyio.run(bench, settings, args)


if __name__ == "__main__":
    sys.exit(main())
