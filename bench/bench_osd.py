"""Throughput and latency of GET /osd (or another path) under concurrent clients.

Starts its own throwaway cluster and gateway unless --url is given, then runs N concurrent
keep-alive clients for D seconds and prints requests/s and latency percentiles. With
--with-module it then loads the mgr's restful module in the same cluster with the same client,
so the two figures compare like for like.

    .venv/bin/python bench/bench_osd.py                 # everything on a throwaway cluster
    .venv/bin/python bench/bench_osd.py --url https://127.0.0.1:8003 --user admin --key KEY
"""

from __future__ import annotations

import argparse
import asyncio
import ssl
import statistics
import tempfile
import time
from pathlib import Path

import harness
import httpx


async def load(
    url: str,
    auth: tuple[str, str],
    concurrency: int,
    duration: float,
    verify: ssl.SSLContext | bool,
) -> tuple[list[float], int]:
    latencies: list[float] = []
    errors = 0
    stop_at = time.monotonic() + duration

    async def worker() -> None:
        nonlocal errors
        async with httpx.AsyncClient(verify=verify, auth=auth, timeout=30) as client:
            while time.monotonic() < stop_at:
                start = time.perf_counter()
                r = await client.get(url)
                if r.status_code == 200:
                    latencies.append(time.perf_counter() - start)
                else:
                    errors += 1

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, errors


def report(
    name: str, path: str, concurrency: int, duration: float, latencies: list[float], errors: int
) -> None:
    ms = sorted(x * 1000 for x in latencies)
    q = statistics.quantiles(ms, n=100) if len(ms) >= 100 else ms
    print(f"{name}: GET {path}, {concurrency} clients, {duration:.0f} s")
    print(f"  requests/s : {len(ms) / duration:8.1f}")
    print(f"  p50 ms     : {q[49] if len(q) > 49 else ms[len(ms) // 2]:8.1f}")
    print(f"  p99 ms     : {q[98] if len(q) > 98 else ms[-1]:8.1f}")
    print(f"  errors     : {errors:8d}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a running gateway (default: start a throwaway one)")
    parser.add_argument("--user", default="admin")
    parser.add_argument("--key")
    parser.add_argument("--path", default="/osd")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--port", type=int, default=18003)
    parser.add_argument(
        "--with-module",
        action="store_true",
        help="also run the mgr's restful module in the same cluster and load it the same way",
    )
    args = parser.parse_args()
    if args.url:
        # A gateway the caller runs: its certificate is whatever they chose to trust.
        latencies, errors = asyncio.run(
            load(
                args.url + args.path,
                (args.user, args.key),
                args.concurrency,
                args.duration,
                harness.insecure_context(),
            )
        )
        report("cephgw", args.path, args.concurrency, args.duration, latencies, errors)
        return
    with (
        tempfile.TemporaryDirectory(prefix="cephgw-bench-osd-") as tmp,
        harness.throwaway_cluster(osds=3) as cluster,
        harness.serve_gateway(cluster, args.port, Path(tmp) / "cephgw.log") as gateway,
    ):
        url, auth, trust = gateway.url + args.path, gateway.auth, gateway.trust
        asyncio.run(load(url, auth, args.concurrency, 2.0, trust))  # warm-up
        latencies, errors = asyncio.run(load(url, auth, args.concurrency, args.duration, trust))
        report("cephgw", args.path, args.concurrency, args.duration, latencies, errors)
        if args.with_module:
            with harness.serve_module(cluster) as module:
                latencies, errors = asyncio.run(
                    load(
                        module.url + args.path,
                        module.auth,
                        args.concurrency,
                        args.duration,
                        module.trust,
                    )
                )
            report("restful module", args.path, args.concurrency, args.duration, latencies, errors)


if __name__ == "__main__":
    main()
