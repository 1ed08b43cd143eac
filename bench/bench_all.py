"""cephgw against the restful module, side by side, measured with wrk (`make bench`).

Part 1 starts a throwaway 3-OSD cluster, `cephgw serve` over TLS, the mgr's restful module in
the same cluster (where the release ships it) and the "ceiling" (bench/ceiling.py: cephgw's
own app answering GET /osd from a precomputed body) under uvicorn and under granian. Each
target is loaded with wrk at 1 and at 16 connections; one table shows requests/s, p50 and
p99 of the module and of cephgw, their ratio, and what fraction of each ceiling cephgw
reaches on GET /osd; then the servers' CPU time and memory before and after the load.

Part 2 (`--scale`, after part 1; `--scale-only` alone) times GET /osd, /osd/{id}, /pool and
/server at 10, 1,000 and 10,000 OSDs in the map (bench/osd_map_scale.py).

    .venv/bin/python bench/bench_all.py --quick            # a smoke test: short runs
    .venv/bin/python bench/bench_all.py --scale --json bench.json
    .venv/bin/python bench/bench_all.py --targets osd,pool --no-module --duration 10
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import harness
import httpx
import osd_map_scale
from wrk_runner import WrkResult, post_script, run_wrk, wrk_version

from cli import dev_cluster
from tests.integration.differential import module_shipped

CONNECTIONS = (1, 16)
# One gateway process against two workers on one port (each a gateway of its own, sharing
# the rados job store that more than one worker needs), and the store's cost on its own:
# the same targets at 16 connections.
WORKER_SERVERS = {
    "cephgw-rados": ("--job-store", "rados"),
    "cephgw-2-workers": ("--job-store", "rados", "--workers", "2"),
}
WORKER_TARGETS = ("osd", "pool", "request-osd-stat")
WORKER_CONNECTIONS = 16
WRK_TIMEOUT = 60.0  # seconds a request may take: the module serves one at a time
CEILING_SCRIPT = Path(__file__).with_name("ceiling.py")
CEILING_SERVERS = ("uvicorn", "granian")


@dataclass(frozen=True)
class Target:
    name: str  # what --targets names
    method: str
    path: str
    body: str | None = None  # JSON, for a POST

    @property
    def label(self) -> str:
        if self.body is None:
            return f"{self.method} {self.path}"
        return f"{self.method} {self.path} {json.loads(self.body)['prefix']}"


TARGETS = (
    Target("osd", "GET", "/osd"),
    Target("pool", "GET", "/pool"),
    Target("server", "GET", "/server"),
    Target("mon", "GET", "/mon"),
    Target("crush-rule", "GET", "/crush/rule"),
    Target("config-cluster", "GET", "/config/cluster"),
    Target("perf", "GET", "/perf?daemon=osd.0"),
    Target(
        "request-osd-stat", "POST", "/request?wait=1", '{"prefix": "osd stat", "format": "json"}'
    ),
    Target("request-status", "POST", "/request?wait=1", '{"prefix": "status", "format": "json"}'),
)
CEILING_TARGET = "osd"


@dataclass
class Run:
    target: Target
    server: str  # module, cephgw, ceiling-uvicorn, ceiling-granian
    result: WrkResult
    cpu: float | None  # CPU seconds the serving process used during the run

    @property
    def cpu_ms_per_request(self) -> float | None:
        if self.cpu is None or not self.result.requests:
            return None
        return self.cpu * 1000 / self.result.requests

    def as_json(self) -> dict[str, Any]:
        return {
            "target": self.target.name,
            "method": self.target.method,
            "path": self.target.path,
            "body": self.target.body,
            "server": self.server,
            "cpu_seconds": self.cpu,
            "cpu_ms_per_request": self.cpu_ms_per_request,
            **self.result.as_json(),
        }


@dataclass
class LoadReport:
    runs: list[Run] = field(default_factory=list)
    # server → (pid, before, after)
    processes: dict[str, tuple[int, harness.ProcessFigures, harness.ProcessFigures]] = field(
        default_factory=dict
    )
    notes: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)  # a server that did not start, and such
    warmups: dict[str, str] = field(default_factory=dict)  # "server target" → a problem

    def find(self, target: str, server: str, connections: int) -> Run | None:
        for run in self.runs:
            if (run.target.name, run.server, run.result.connections) == (
                target,
                server,
                connections,
            ):
                return run
        return None


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- servers


@contextlib.contextmanager
def serve_ceiling(
    cluster: dev_cluster.DevCluster,
    kind: str,
    gateway: harness.Server,
    files: dict[str, Path],
    workdir: Path,
) -> Iterator[harness.Server]:
    """bench/ceiling.py under `kind` (uvicorn or granian), with the gateway's certificate."""
    port = harness.free_port()
    log_file = workdir / f"ceiling-{kind}.log"
    args = [sys.executable, str(CEILING_SCRIPT), "--server", kind, "--port", str(port)]
    args += ["--cert", str(files["crt"]), "--key", str(files["key"]), "--body", str(files["body"])]
    env = harness.project_env(
        cluster,
        CEPHGW_CONF=str(cluster.conf),
        CEPHGW_KEYRING=str(cluster.keyring),
        CEPHGW_MGR_NAME=cluster.mgr_name,
        CEPHGW_LOG_LEVEL="warning",
    )
    with harness.started(args, env, log_file) as proc:
        url = f"https://127.0.0.1:{port}"
        harness.wait_until_serving(
            url + "/osd", gateway.auth, gateway.trust, proc=proc, log=log_file
        )
        yield harness.Server(
            f"ceiling-{kind}", url, gateway.auth, gateway.trust, proc.pid, log_file
        )


def ceiling_files(
    cluster: dev_cluster.DevCluster, gateway: harness.Server, workdir: Path
) -> dict[str, Path]:
    """The gateway's certificate and key (from config-key) and one GET /osd answer of it."""
    ceph = harness.ceph_cli(cluster)
    files = {what: workdir / f"ceiling.{what}" for what in ("crt", "key", "body")}
    for what in ("crt", "key"):
        files[what].touch(mode=0o600)
        files[what].write_text(ceph("config-key", "get", f"mgr/restful/{cluster.mgr_name}/{what}"))
    with httpx.Client(verify=gateway.trust, auth=gateway.auth, timeout=60) as http:
        response = http.get(gateway.url + "/osd")
        response.raise_for_status()
        files["body"].write_bytes(response.content)
    return files


def warm_up(server: harness.Server, target: Target) -> str | None:
    """One request, which also checks the target answers; a problem in words, or None."""
    try:
        with httpx.Client(verify=server.trust, auth=server.auth, timeout=WRK_TIMEOUT) as http:
            if target.body is None:
                response = http.request(target.method, server.url + target.path)
            else:
                response = http.request(
                    target.method,
                    server.url + target.path,
                    content=target.body,
                    headers={"Content-Type": "application/json"},
                )
    except httpx.HTTPError as exc:
        return f"warm-up request failed: {exc!r}"
    if response.status_code != 200:
        return f"warm-up answered {response.status_code}: {response.text[:200]}"
    return None


# --------------------------------------------------------------------------- part 1


def run_load(args: argparse.Namespace, targets: Sequence[Target], workdir: Path) -> LoadReport:
    report = LoadReport()
    duration: float = args.duration
    log("part 1: starting a 3-OSD cluster")
    with (
        harness.throwaway_cluster(osds=3, pools=("cephgw-tests",)) as cluster,
        harness.serve_gateway(cluster, harness.free_port(), workdir / "cephgw.log") as gateway,
        contextlib.ExitStack() as stack,
    ):
        servers: dict[str, harness.Server] = {"cephgw": gateway}
        if args.module and not module_shipped():
            report.notes.append("module: this Ceph release ships no restful module; not run")
        elif args.module:
            log("part 1: enabling the restful module")
            try:
                servers["module"] = stack.enter_context(harness.serve_module(cluster))
            except Exception as exc:  # reported, and the rest still measured
                report.failures.append(f"the restful module could not start: {exc}")
        if any(t.name == CEILING_TARGET for t in targets):
            files = ceiling_files(cluster, gateway, workdir)
            for kind in CEILING_SERVERS:
                log(f"part 1: starting the ceiling under {kind}")
                try:
                    servers[f"ceiling-{kind}"] = stack.enter_context(
                        serve_ceiling(cluster, kind, gateway, files, workdir)
                    )
                except (harness.NotServing, OSError) as exc:
                    report.failures.append(f"the ceiling under {kind} could not start: {exc}")
        if args.workers:
            for name, extra in WORKER_SERVERS.items():
                log(f"part 1: starting {name} ({' '.join(extra)})")
                servers[name] = stack.enter_context(
                    harness.serve_gateway(
                        cluster,
                        harness.free_port(),
                        workdir / f"{name}.log",
                        name=name,
                        extra_args=extra,
                        beside=gateway,
                    )
                )
        scripts = {
            t.name: post_script(workdir, t.name, t.body) for t in targets if t.body is not None
        }
        for name, server in servers.items():
            for target in targets:
                if name.startswith("ceiling-") and target.name != CEILING_TARGET:
                    continue
                if problem := warm_up(server, target):
                    report.warmups[f"{name} {target.label}"] = problem
        before = {n: harness.process_figures(s.pid) for n, s in servers.items() if s.pid}
        for target in targets:
            for connections in CONNECTIONS:
                for name in ("module", "cephgw", *(f"ceiling-{k}" for k in CEILING_SERVERS)):
                    chosen = servers.get(name)
                    if chosen is None or (
                        name.startswith("ceiling-") and target.name != CEILING_TARGET
                    ):
                        continue
                    log(f"part 1: {target.label}, {connections} conn., {name}")
                    report.runs.append(
                        load_once(chosen, target, connections, duration, scripts.get(target.name))
                    )
        for target in targets:
            for name in WORKER_SERVERS:
                if (chosen := servers.get(name)) is None or target.name not in WORKER_TARGETS:
                    continue
                log(f"part 1: {target.label}, {WORKER_CONNECTIONS} conn., {name}")
                script = scripts.get(target.name)
                report.runs.append(load_once(chosen, target, WORKER_CONNECTIONS, duration, script))
        for name, server in servers.items():
            if server.pid and name in before:
                after = harness.process_figures(server.pid)
                report.processes[name] = (server.pid, before[name], after)
        for name, server in servers.items():
            output = server.output()  # the log goes with the bench's temporary directory
            if "Traceback" in output:
                last = output[output.rindex("Traceback") :].strip().splitlines()[-1]
                report.failures.append(f"{name} logged a traceback, the last ending: {last}")
    return report


def load_once(
    server: harness.Server,
    target: Target,
    connections: int,
    duration: float,
    script: Path | None,
) -> Run:
    cpu_before = harness.process_figures(server.pid).cpu if server.pid else None
    result = run_wrk(
        server.url + target.path,
        harness.basic_auth_header(server.auth),
        connections,
        duration,
        timeout=WRK_TIMEOUT,
        script=script,
    )
    cpu = None
    if server.pid and cpu_before is not None:
        with contextlib.suppress(OSError):
            cpu = harness.process_figures(server.pid).cpu - cpu_before
    return Run(target, server.name, result, cpu)


# --------------------------------------------------------------------------- output


def _ms(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.2f}" if value < 10 else f"{value:.1f}"


def _cells(run: Run | None) -> str:
    """req/s p50 p99 cpu/req of one run; `!` after req/s marks a run with problems."""
    if run is None:
        return f"{'-':>9} {'-':>7} {'-':>7} {'-':>7}"
    r = run.result
    mark = "!" if r.problems else " "
    return (
        f"{r.rps:>8.1f}{mark} {_ms(r.p50_ms):>7} {_ms(r.p99_ms):>7} "
        f"{_ms(run.cpu_ms_per_request):>7}"
    )


def format_load(report: LoadReport, targets: Sequence[Target], duration: float) -> list[str]:
    width = max(len(t.label) for t in targets) + 1
    server = f"{'req/s':>9} {'p50 ms':>7} {'p99 ms':>7} {'cpu/req':>7}"  # 33 characters
    lines = [
        f"Part 1: wrk --latency, {duration:g} s a run, 2 threads (1 at 1 connection), HTTPS on "
        f"127.0.0.1, {os.cpu_count()} cores shared by the cluster, the servers and wrk",
        f"{'':<{width + 6}}|{'restful module':^34}|{'cephgw':^34}|{'cephgw/':^8}|"
        f"{'cephgw/ceiling':^18}",
        f"{'target':<{width}}{'conns':>6}|{server} |{server} |{'module':>7} |"
        f"{'uvicorn':>8}{'granian':>9}",
    ]
    for target in targets:
        for connections in CONNECTIONS:
            module = report.find(target.name, "module", connections)
            gateway = report.find(target.name, "cephgw", connections)
            ratio = (
                f"{gateway.result.rps / module.result.rps:>6.2f}x"
                if module and gateway and module.result.rps
                else f"{'-':>7}"
            )
            fractions = ""
            for kind, cell in zip(CEILING_SERVERS, (8, 9), strict=True):
                ceiling = report.find(target.name, f"ceiling-{kind}", connections)
                if gateway and ceiling and ceiling.result.rps:
                    share = f"{100 * gateway.result.rps / ceiling.result.rps:.1f}%"
                    fractions += f"{share:>{cell}}"
                else:
                    fractions += f"{'-':>{cell}}"
            lines.append(
                f"{target.label:<{width}}{connections:>6}|{_cells(module)} |"
                f"{_cells(gateway)} |{ratio} |{fractions}"
            )
    lines.append(
        "req/s marked ! had errors (listed below); cpu/req: CPU ms the serving process spent "
        "per request (for the module, all of ceph-mgr's); cephgw/module: of req/s; "
        "cephgw/ceiling: cephgw's req/s as a share of the ceiling's"
    )
    lines += format_ceilings(report)
    lines += format_workers(report, targets)
    lines += format_processes(report)
    lines += format_problems(report)
    return lines


def format_ceilings(report: LoadReport) -> list[str]:
    runs = {
        (kind, c): report.find(CEILING_TARGET, f"ceiling-{kind}", c)
        for kind in CEILING_SERVERS
        for c in CONNECTIONS
    }
    if not any(runs.values()):
        return []
    lines = ["", "GET /osd ceiling: cephgw's app and auth, the body precomputed (bench/ceiling.py)"]
    for kind in CEILING_SERVERS:
        parts = []
        for c in CONNECTIONS:
            run = runs[(kind, c)]
            if run is not None:
                r = run.result
                parts.append(
                    f"{c:>2} conn. {r.rps:>7.1f}{'!' if r.problems else ''} req/s, "
                    f"p50 {_ms(r.p50_ms)} ms, p99 {_ms(r.p99_ms)} ms, "
                    f"cpu {_ms(run.cpu_ms_per_request)} ms/req"
                )
        lines.append(f"  {kind:<8} " + (" | ".join(parts) if parts else "not run"))
    uvicorn = [runs[("uvicorn", c)] for c in CONNECTIONS]
    granian = [runs[("granian", c)] for c in CONNECTIONS]
    if all(uvicorn) and all(granian):
        verdicts = []
        for c, u, g in zip(CONNECTIONS, uvicorn, granian, strict=True):
            assert u is not None
            assert g is not None
            fast, slow = (
                ("granian", "uvicorn") if g.result.rps > u.result.rps else ("uvicorn", "granian")
            )
            hi, lo = max(g.result.rps, u.result.rps), min(g.result.rps, u.result.rps)
            gain = f"+{100 * (hi / lo - 1):.0f}%" if lo else "(the other served none)"
            verdicts.append(f"{fast} at {c} conn. ({hi:.0f} vs {lo:.0f} req/s, {gain} over {slow})")
        lines.append("  faster: " + "; ".join(verdicts))
    return lines


def format_workers(report: LoadReport, targets: Sequence[Target]) -> list[str]:
    c = WORKER_CONNECTIONS
    rados_name, two_name = WORKER_SERVERS
    rows = [
        (
            t,
            report.find(t.name, "cephgw", c),
            report.find(t.name, rados_name, c),
            report.find(t.name, two_name, c),
        )
        for t in targets
        if t.name in WORKER_TARGETS
    ]
    if not any(row[3] for row in rows):
        return []
    width = max(len(row[0].label) for row in rows) + 1
    head = f"{'req/s':>9} {'p50 ms':>7} {'p99 ms':>7} {'cpu/req':>7}"
    lines = [
        "",
        f"Workers at {c} conn.: cephgw (1 process, jobs in memory), with --job-store rados, "
        "and with --workers 2 (rados jobs)",
        f"{'target':<{width}}|{'1 worker, memory':^34}|{'1 worker, rados':^34}|"
        f"{'2 workers, rados':^34}|{'2w/1w':>6}",
        f"{'':<{width}}|{head} |{head} |{head} |",
    ]
    for target, memory, rados, two in rows:
        gain = (
            f"{two.result.rps / rados.result.rps:>5.2f}x"
            if two and rados and rados.result.rps
            else f"{'-':>6}"
        )
        lines.append(
            f"{target.label:<{width}}|{_cells(memory)} |{_cells(rados)} |{_cells(two)} |{gain}"
        )
    lines.append("2w/1w: req/s of 2 workers over 1 worker, both with the rados job store")
    return lines


def format_processes(report: LoadReport) -> list[str]:
    if not report.processes:
        return []
    lines = [
        "",
        "Processes before -> after the load (CPU: user+system since start; RSS, and PSS:",
        "pages shared by a server's processes counted once):",
    ]
    names = {
        "module": "ceph-mgr (serves the module)",
        "cephgw": "cephgw (granian: 2 processes)",
        "ceiling-granian": "ceiling-granian (2 processes)",
        "cephgw-rados": "cephgw --job-store rados",
        "cephgw-2-workers": "cephgw --workers 2 (3 processes)",
    }
    for name, (pid, before, after) in report.processes.items():
        lines.append(
            f"  {names.get(name, name):<30} pid {pid:>7}: CPU {before.cpu:7.1f} -> "
            f"{after.cpu:7.1f} s (+{after.cpu - before.cpu:.1f}), RSS "
            f"{before.rss / harness.MIB:6.1f} -> {after.rss / harness.MIB:6.1f} MiB, PSS "
            f"{before.pss / harness.MIB:6.1f} -> {after.pss / harness.MIB:6.1f} MiB, largest "
            f"process {after.largest_rss / harness.MIB:6.1f} MiB"
        )
    return lines


def format_problems(report: LoadReport) -> list[str]:
    lines = [""]
    problems = [
        f"  {run.server} {run.target.label}, {run.result.connections} conn.: "
        + "; ".join(run.result.problems)
        for run in report.runs
        if run.result.problems
    ]
    problems += [f"  {what}: {problem}" for what, problem in report.warmups.items()]
    problems += [f"  {failure}" for failure in report.failures]
    if problems:
        lines.append("ERRORS (runs among them are marked ! in the table):")
        lines += problems
    else:
        lines.append("Errors: none (no socket error, no status >= 400, every POST answered 200)")
    lines += [f"Note: {note}" for note in report.notes]
    if any(r.server == "module" for r in report.runs):
        lines.append(
            "Note: the module closes every connection (HTTP/1.0): wrk's p50/p99 start after "
            "each new TCP+TLS handshake, so its waiting for one shows in req/s only"
        )
    return lines


# --------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=(__doc__ or "").split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="targets: " + ", ".join(t.name for t in TARGETS),
    )
    parser.add_argument(
        "--duration", type=float, help="seconds a wrk run (default 5; 1 with --quick)"
    )
    parser.add_argument("--targets", help="comma-separated target names (default: all)")
    parser.add_argument(
        "--no-module", dest="module", action="store_false", help="leave the restful module out"
    )
    parser.add_argument(
        "--no-workers",
        dest="workers",
        action="store_false",
        help="leave out the rados job store and --workers 2 runs",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a smoke test: 1 s runs; with --scale, a map of "
        + ", ".join(map(str, osd_map_scale.QUICK_STEPS))
        + " OSDs",
    )
    parser.add_argument("--json", type=Path, help="write every figure to this file")
    parser.add_argument("--scale", action="store_true", help="part 2 too, after part 1")
    parser.add_argument("--scale-only", action="store_true", help="part 2 alone")
    parser.add_argument(
        "--scale-osds",
        help="OSD counts of part 2 (default: " + ",".join(map(str, osd_map_scale.STEPS)) + ")",
    )
    args = parser.parse_args(argv)
    if args.duration is None:
        args.duration = 1.0 if args.quick else 5.0
    if args.duration <= 0:
        parser.error("--duration must be positive")
    known = {t.name: t for t in TARGETS}
    names = args.targets.split(",") if args.targets else list(known)
    unknown = [n for n in names if n not in known]
    if unknown:
        parser.error(f"unknown target(s) {', '.join(unknown)}; known: {', '.join(known)}")
    args.target_list = [known[n] for n in names]
    if args.scale_osds:
        try:
            args.steps = sorted({int(n) for n in args.scale_osds.split(",")})
        except ValueError:
            parser.error("--scale-osds takes numbers: 10,1000,10000")
        if args.steps[0] < 3:
            parser.error("--scale-osds: the cluster has 3 real OSDs; start at 3 or more")
    else:
        args.steps = list(osd_map_scale.QUICK_STEPS if args.quick else osd_map_scale.STEPS)
    return args


def machine() -> dict[str, Any]:
    ceph = subprocess.run(["ceph", "--version"], capture_output=True, text=True, check=False)
    return {
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "ceph": ceph.stdout.strip(),
        "wrk": wrk_version(),
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if wrk_version() is None:
        raise SystemExit("wrk is not installed: `make setup` (scripts/bootstrap.sh) installs it")
    figures: dict[str, Any] = {"machine": machine(), "options": vars(args) | {"target_list": None}}
    out: list[str] = [f"{figures['machine']['ceph']}; {figures['machine']['wrk']}"]
    started = time.monotonic()
    try:
        with tempfile.TemporaryDirectory(prefix="cephgw-bench-all-") as tmp:
            workdir = Path(tmp)
            if not args.scale_only:
                report = run_load(args, args.target_list, workdir)
                out += format_load(report, args.target_list, args.duration)
                figures["load"] = {
                    "runs": [r.as_json() for r in report.runs],
                    "processes": {
                        n: {"pid": pid, "before": vars(b), "after": vars(a)}
                        for n, (pid, b, a) in report.processes.items()
                    },
                    "notes": report.notes,
                    "failures": report.failures,
                    "warmups": report.warmups,
                }
                # Shown now: part 2 takes as long again, and its cluster may fail on its own.
                print("\n".join(out), flush=True)
                out = []
            if args.scale or args.scale_only:
                scale = osd_map_scale.run_scale(workdir, args.steps, log)
                out += ["", *osd_map_scale.format_scale(scale)]
                figures["scale"] = scale
    except harness.NotServing as exc:
        raise SystemExit(f"bench: {exc}") from exc
    out.append(f"(bench took {time.monotonic() - started:.0f} s)")
    print("\n".join(out))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1, default=str) + "\n")
        print(f"figures written to {args.json}")
    load = figures.get("load", {})
    failed = [r for r in load.get("runs", []) if r["problems"]] or load.get("failures")
    return 1 if failed or load.get("warmups") else 0


if __name__ == "__main__":
    sys.exit(main())
