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
import os
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from cli import dev_cluster

CEPHGW = str(Path(sys.executable).with_name("cephgw"))


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


@contextmanager
def throwaway_gateway(
    port: int,
) -> Iterator[tuple[dev_cluster.DevCluster, str, tuple[str, str], ssl.SSLContext]]:
    directory = Path(tempfile.mkdtemp(prefix="cephgw-bench-"))
    cluster = dev_cluster.up(directory, osds=3)
    env = {**os.environ, "CEPH_CONF": str(cluster.conf)}
    common = ["--keyring", str(cluster.keyring)]
    server: subprocess.Popen[bytes] | None = None
    try:
        subprocess.run([CEPHGW, "create-self-signed-cert", *common], env=env, check=True)
        key = subprocess.run(
            [CEPHGW, "create-key", "bench", *common],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        server = subprocess.Popen(
            [CEPHGW, "serve", *common, "--addr", "127.0.0.1", "--port", str(port)],
            env={**env, "CEPHGW_LOG_LEVEL": "warning"},
        )
        crt = subprocess.run(
            ["ceph", "-c", str(cluster.conf), "config-key", "get", "mgr/restful/crt"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        trust = ssl.create_default_context(cadata=crt)
        base = f"https://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(base + "/osd", auth=("bench", key), verify=trust).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("the gateway did not come up")
            time.sleep(0.2)
        yield cluster, base, ("bench", key), trust
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=15)
        dev_cluster.down(directory)


def start_module(
    cluster: dev_cluster.DevCluster, port: int
) -> tuple[str, tuple[str, str], ssl.SSLContext]:
    """Enable the mgr's restful module on a loopback port of the same cluster."""

    def ceph(*args: str) -> str:
        return subprocess.run(
            ["ceph", "-c", str(cluster.conf), *args], check=True, capture_output=True, text=True
        ).stdout

    name = cluster.mgr_name
    ceph("config", "set", "mgr", f"mgr/restful/{name}/server_addr", "127.0.0.1")
    ceph("config", "set", "mgr", f"mgr/restful/{name}/server_port", str(port))
    ceph("mgr", "module", "enable", "restful")
    deadline = time.monotonic() + 60
    while True:
        try:
            ceph("restful", "create-self-signed-cert")
            key = ceph("restful", "create-key", "benchmodule").strip()
            break
        except subprocess.CalledProcessError:
            if time.monotonic() > deadline:
                raise SystemExit("the restful module did not load") from None
            time.sleep(1)
    # The module's certificate names "ceph-restful", not the host: trust it, skip the name.
    trust = ssl.create_default_context(cadata=ceph("config-key", "get", f"mgr/restful/{name}/crt"))
    trust.check_hostname = False
    base = f"https://127.0.0.1:{port}"
    while True:
        try:
            if httpx.get(base + "/", verify=trust, timeout=10).status_code == 200:
                return base, ("benchmodule", key), trust
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise SystemExit("the restful module did not serve")
        time.sleep(0.5)


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
        verify = ssl.create_default_context()
        verify.check_hostname = False
        verify.verify_mode = ssl.CERT_NONE
        latencies, errors = asyncio.run(
            load(
                args.url + args.path, (args.user, args.key), args.concurrency, args.duration, verify
            )
        )
        report("cephgw", args.path, args.concurrency, args.duration, latencies, errors)
        return
    with throwaway_gateway(args.port) as (cluster, base, auth, trust):
        asyncio.run(load(base + args.path, auth, args.concurrency, 2.0, trust))  # warm-up
        latencies, errors = asyncio.run(
            load(base + args.path, auth, args.concurrency, args.duration, trust)
        )
        report("cephgw", args.path, args.concurrency, args.duration, latencies, errors)
        if args.with_module:
            module_url, module_auth, module_trust = start_module(cluster, args.port + 1)
            latencies, errors = asyncio.run(
                load(
                    module_url + args.path,
                    module_auth,
                    args.concurrency,
                    args.duration,
                    module_trust,
                )
            )
            report("restful module", args.path, args.concurrency, args.duration, latencies, errors)


if __name__ == "__main__":
    main()
