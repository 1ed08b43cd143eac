"""Part 2 of bench_all.py: the gateway on an OSD map of up to 10,000 OSDs.

The cluster keeps its 3 real OSDs; every other OSD is an entry made by `ceph osd new` (a
uuid, no daemon, never booted). How the map is grown, and why so:

* `osd new` forces an immediate proposal in the mon (OSDMonitor: force_immediate_propose),
  so the mon cannot batch them: each one is an epoch of its own, whatever
  paxos_propose_interval says. Commands are still sent 8 at a time (librados mon_command
  from threads) so that the next is waiting whenever an epoch commits.
* Each epoch writes a full map (~115 bytes an OSD), so the cost of an epoch grows with the
  map. The cluster lives in /dev/shm when there is room (the mon's fsyncs cost nothing
  there), and the options of SCALE_OPTIONS keep few old maps: the mon trims to what the
  OSDs' beacons report, every 2 s instead of 300 s. Without that the 3 OSDs' memstore
  (256 MiB) fills up with maps and the cluster goes HEALTH_ERR.
* The mgr is paused (SIGSTOP) while the map grows: on every new epoch it asks the mon for
  the metadata of each OSD it has none of, and never-booted OSDs have none, so each
  `osd new` would cost the mon one command per OSD in the map. It resumes before any
  measurement (GET /server asks the mgr).
* The growth waits whenever an OSD falls more than MAX_LAG epochs behind the mon (OSDs
  learn of new epochs from each other and from the mon's pushes to one of them, a few
  seconds late), and at the end of a step until they have the last one (SETTLE at most),
  so that no OSD is still busy with maps while the gateway is timed.

Timings are sequential requests on one keep-alive connection: the first after each growth
(and after the gateway sees the new map), then the median of 5.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import statistics
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import harness
import httpx

from app.ceph.client import CephClient
from app.errors import CephError
from app.settings import Settings
from cli import dev_cluster

STEPS = (10, 1_000, 10_000)
QUICK_STEPS = (10, 100, 300)
IN_FLIGHT = 8
CHUNK = 100  # `osd new`s between two looks at the OSDs' progress
MAX_LAG = 200  # epochs an OSD may be behind the mon before the growth waits for it
SETTLE = 60.0  # seconds to wait at the end of a step for the OSDs to have the last epoch
TIMINGS = 5
SCALE_OPTIONS = {
    "mon_min_osdmap_epochs": "20",  # default 500 full maps kept; at 10,000 OSDs ~1.1 MB each
    "paxos_service_trim_min": "20",  # trim as soon as 20 epochs can go (default 250)
    "paxos_min": "50",  # paxos versions hold the transactions, full maps included
    "paxos_trim_min": "50",
    "osd_beacon_report_interval": "2",  # the mon's trim bound follows the beacons
    "osd_mon_report_interval": "1",
    "mon_mgr_beacon_grace": "3600",  # the mgr is paused while the map grows
    "mon_cluster_log_to_file": "false",  # two audit lines for every `osd new`
}


def scale_parent() -> Path | None:
    """The RAM file system when it has room for the mon's store (a few GiB), else None (/tmp).

    The cluster's directory is still a fresh mkdtemp in it, as under /tmp.
    """
    shm = Path("/dev/shm")  # noqa: S108
    if shm.is_dir() and shutil.disk_usage(shm).free > 4 * 1024**3:
        return shm
    return None


@dataclass
class Growth:
    """One growth of the map: from `start` to `end` OSDs."""

    start: int
    end: int
    seconds: float = 0.0
    waited: float = 0.0  # of which waiting for the OSDs to catch up
    epochs: int = 0


@dataclass(frozen=True)
class Timing:
    path: str
    first_ms: float
    median_ms: float
    min_ms: float
    max_ms: float
    body_bytes: int
    status: int


@dataclass
class Step:
    osds: int
    growth: Growth
    timings: list[Timing] = field(default_factory=list)
    gateway_rss: int = 0
    gateway_pss: int = 0
    gateway_largest_rss: int = 0
    # OSD map epochs that came while the GETs were timed: a map that moved is fetched again.
    epochs_during: int = 0
    health: str = ""


@contextmanager
def paused(pid: int | None) -> Iterator[None]:
    """SIGSTOP `pid` (a daemon of the bench's own cluster), SIGCONT whatever happens."""
    if pid is None:
        yield
        return
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


class MapGrower:
    """Adds `osd new` entries to the cluster's OSD map from threads, IN_FLIGHT at a time."""

    def __init__(self, cluster: dev_cluster.DevCluster) -> None:
        self._cluster = cluster
        settings = Settings(conf=cluster.conf, keyring=cluster.keyring, ceph_timeout=300)
        self._ceph = CephClient(settings)
        self._ceph.connect()
        self._real_osds = [int(i) for i in self._json_list({"prefix": "osd ls"})]

    def close(self) -> None:
        self._ceph.close()

    def _json_list(self, command: dict[str, Any]) -> list[Any]:
        out = json.loads(self._ceph.mon_command(command))
        assert isinstance(out, list)
        return out

    def _json(self, command: dict[str, Any], osd: int | None = None) -> dict[str, Any]:
        raw = (
            self._ceph.mon_command(command) if osd is None else self._ceph.osd_command(osd, command)
        )
        out = json.loads(raw)
        assert isinstance(out, dict)
        return out

    def osd_stat(self) -> dict[str, Any]:
        return self._json({"prefix": "osd stat"})

    def _osd_new(self) -> None:
        self._ceph.mon_command({"prefix": "osd new", "uuid": str(uuid.uuid4())})

    def _osds_behind(self) -> int:
        """How many epochs the slowest real OSD is behind the mon."""
        epoch = int(self.osd_stat()["epoch"])
        newest = epoch
        for osd in self._real_osds:
            try:
                newest = min(newest, int(self._json({"prefix": "status"}, osd)["newest_map"]))
            except CephError as exc:
                if exc.errno != errno.ETIMEDOUT:
                    raise
                # Busy applying thousands of maps (seen past 9,000 OSDs): it is behind.
                return MAX_LAG + 1
        return epoch - newest

    def grow(self, total: int, progress: Callable[[str], None]) -> Growth:
        start_stat = self.osd_stat()
        have = int(start_stat["num_osds"])
        growth = Growth(have, max(have, total))
        started = time.monotonic()
        with (
            paused(harness.mgr_pid(self._cluster)),
            ThreadPoolExecutor(IN_FLIGHT, thread_name_prefix="osd-new") as pool,
        ):
            while have < total:
                n = min(CHUNK, total - have)
                for future in [pool.submit(self._osd_new) for _ in range(n)]:
                    future.result()
                have += n
                wait_from = time.monotonic()
                if have < total:
                    while self._osds_behind() > MAX_LAG:
                        time.sleep(0.2)
                else:
                    while self._osds_behind() > 0 and time.monotonic() - wait_from < SETTLE:
                        time.sleep(0.2)
                growth.waited += time.monotonic() - wait_from
                if have % 1000 == 0 and have < total:
                    progress(f"  ... {have} OSDs, {time.monotonic() - started:.0f} s")
        growth.seconds = time.monotonic() - started
        growth.epochs = int(self.osd_stat()["epoch"]) - int(start_stat["epoch"])
        return growth

    def wait_for_mgr(self, timeout: float = 300) -> None:
        """Until the resumed mgr answers a command (GET /server asks it `service dump`)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                self._ceph.mgr_command({"prefix": "service dump"})
                return
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(1)

    def health(self) -> str:
        """HEALTH_OK, or the status with the checks that fail and their summaries."""
        health = self._json({"prefix": "health"})
        checks = health.get("checks") or {}
        failing = [
            f"{name}: {check.get('summary', {}).get('message', '')}"
            for name, check in sorted(checks.items())
        ]
        status = str(health.get("status", "?"))
        return f"{status} ({'; '.join(failing)})" if failing else status


def time_paths(
    server: harness.Server, paths: Sequence[str], expect_osds: int, timeout: float = 600
) -> list[Timing]:
    """For each path: the first answer (for /osd: the first that lists `expect_osds` OSDs,
    so the figure is of the new map), then TIMINGS more; all on one keep-alive connection."""
    out: list[Timing] = []
    with httpx.Client(verify=server.trust, auth=server.auth, timeout=timeout) as http:
        for path in paths:
            deadline = time.monotonic() + timeout
            while True:
                start = time.perf_counter()
                response = http.get(server.url + path)
                first = (time.perf_counter() - start) * 1000
                if path != "/osd" or response.status_code != 200:
                    break
                if len(response.json()) >= expect_osds or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
            samples: list[float] = []
            for _ in range(TIMINGS):
                start = time.perf_counter()
                response = http.get(server.url + path)
                samples.append((time.perf_counter() - start) * 1000)
            out.append(
                Timing(
                    path,
                    first,
                    statistics.median(samples),
                    min(samples),
                    max(samples),
                    len(response.content),
                    response.status_code,
                )
            )
    return out


def run_scale(
    workdir: Path, steps: Sequence[int], progress: Callable[[str], None]
) -> dict[str, Any]:
    """Part 2: a fresh cluster, its gateway, and the timings at each step of the map."""
    progress(f"scale: starting a cluster ({'in /dev/shm' if scale_parent() else 'under /tmp'})")
    with harness.throwaway_cluster(
        osds=3, pools=("cephgw-tests",), prefix="cephgw-bench-scale-", parent=scale_parent()
    ) as cluster:
        ceph = harness.ceph_cli(cluster)
        for name, value in SCALE_OPTIONS.items():
            ceph("config", "set", "global", name, value)
        port = harness.free_port()
        with harness.serve_gateway(cluster, port, workdir / "scale-cephgw.log") as gateway:
            grower = MapGrower(cluster)
            results: list[Step] = []
            try:
                for total in steps:
                    progress(f"scale: growing the OSD map to {total} OSDs")
                    growth = grower.grow(total, progress)
                    grower.wait_for_mgr()
                    last = growth.end - 1  # the highest id: the map's last entry
                    paths = ["/osd", f"/osd/{last}", "/pool", "/server"]
                    progress(f"scale: timing {', '.join(paths)} at {growth.end} OSDs")
                    epoch = int(grower.osd_stat()["epoch"])
                    step = Step(growth.end, growth, time_paths(gateway, paths, growth.end))
                    step.epochs_during = int(grower.osd_stat()["epoch"]) - epoch
                    assert gateway.pid is not None
                    memory = harness.process_figures(gateway.pid)
                    step.gateway_rss, step.gateway_pss = memory.rss, memory.pss
                    step.gateway_largest_rss = memory.largest_rss
                    step.health = grower.health()
                    results.append(step)
            finally:
                grower.close()
    return {
        "steps": [asdict(s) for s in results],
        "build_seconds": sum(s.growth.seconds for s in results),
        "waited_seconds": sum(s.growth.waited for s in results),
        "in_flight": IN_FLIGHT,
        "options": SCALE_OPTIONS,
        "cluster_in_shm": scale_parent() is not None,
    }


def format_scale(scale: dict[str, Any]) -> list[str]:
    """The part-2 table, one row per step."""
    paths = ["/osd", "/osd/{id}", "/pool", "/server"]
    head = f"{'OSDs':>6} {'built in':>9} |"
    head += "".join(f" {'GET ' + p:>22} |" for p in paths)
    head += f" {'/osd body':>9} {'gw RSS':>8} {'gw PSS':>8} {'wk RSS':>8} {'epochs':>6}"
    lines = [
        "Part 2: GET times in ms on a growing OSD map (median of 5, (first after the growth));",
        "3 real OSDs, the others `osd new` entries without a daemon; gw RSS, gw PSS: the",
        "gateway's processes added up; wk RSS: granian's worker alone; epochs: OSD map epochs",
        "that came while the GETs were timed (a moved map is fetched and shaped again)",
        head,
        f"{'':>6} {'':>9} |" + "".join(f" {'median (first)':>22} |" for _ in paths),
    ]
    for step in scale["steps"]:
        growth = step["growth"]
        row = f"{step['osds']:>6} {growth['seconds']:>8.1f}s |"
        for timing in step["timings"]:
            cell = f"{timing['median_ms']:.1f} ({timing['first_ms']:.1f})"
            if timing["status"] != 200:
                cell = f"status {timing['status']}!"
            row += f" {cell:>22} |"
        osd_body = step["timings"][0]["body_bytes"]
        row += f" {osd_body / 1024:>7.0f}KB {step['gateway_rss'] / harness.MIB:>6.1f}MB"
        row += f" {step['gateway_pss'] / harness.MIB:>6.1f}MB"
        row += f" {step['gateway_largest_rss'] / harness.MIB:>6.1f}MB {step['epochs_during']:>6}"
        lines.append(row)
    waited = scale["waited_seconds"]
    lines.append(
        f"building the map took {scale['build_seconds']:.1f} s in all "
        f"({waited:.1f} s of it waiting for the OSDs to catch up), `osd new` {scale['in_flight']} "
        f"in flight, each its own epoch; cluster health after: "
        + ", ".join(f"{s['osds']}: {s['health']}" for s in scale["steps"])
    )
    return lines
