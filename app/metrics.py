"""Prometheus metrics of one gateway: requests, librados calls, auth failures, jobs.

Everything lives in one `GatewayMetrics` per app (its own `CollectorRegistry`, never the
process-wide default one), so two apps in one process, as in the tests, count apart. Labels
come from bounded sets only: a route *template* (never a raw path), a known HTTP method, a
Ceph command prefix out of at most `MAX_COMMAND_PREFIXES` distinct ones (POST /request lets
a client choose the prefix), so that no client can make the series grow without bound.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from prometheus_client import (
    CollectorRegistry,
    Counter,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector

from app.access_log import RequestRecord
from app.auth import KeyStore
from app.ceph.client import CephClient
from app.ceph.state import ClusterState
from app.jobs import FAILED, PENDING, SUCCESS, JobTable

# What a scraper gets unless its Accept header asks for OpenMetrics.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# Distinct command prefixes that get their own series; later ones are counted as OTHER.
MAX_COMMAND_PREFIXES = 256
MAX_PREFIX_LENGTH = 80
OTHER = "<other>"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

# From 1 ms (a cached answer) to the 30 s a librados call may take by default.
_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


class GatewayMetrics:
    """The metrics of one app; `render()` is the body of GET /metrics."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)
        self.requests = Counter(
            "cephgw_http_requests",
            "HTTP requests answered, by route template, method and status.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.request_duration = Histogram(
            "cephgw_http_request_duration_seconds",
            "Time from a request's arrival to the end of its answer, by route template.",
            ["route", "method"],
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self.ceph_call_duration = Histogram(
            "cephgw_ceph_command_duration_seconds",
            "Time one librados command took, by target (mon, mgr, osd) and command prefix.",
            ["target", "prefix"],
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self.auth_failures = Counter(
            "cephgw_auth_failures",
            "Requests refused by authentication: missing or invalid credentials, a client "
            "held back after too many failures (throttled), or a read-only key on an admin "
            "route (forbidden).",
            ["reason"],
            registry=self.registry,
        )
        self.audit_cluster_log_failures = Counter(
            "cephgw_audit_cluster_log_failures",
            "Audit entries that did not reach the Ceph cluster log: the mon refused or did not "
            "answer (failed), or too many were waiting for it (dropped).",
            ["reason"],
            registry=self.registry,
        )
        self.cache_events = Counter(
            "cephgw_cache_events",
            "The cluster-state cache, by map: reads answered from it (hit), after a refresh "
            "(refresh) or from an old map while the cluster was slow (stale); refreshes that "
            "found the map unchanged, fetched it, or failed.",
            ["map", "event"],
            registry=self.registry,
        )
        self._prefixes: set[str] = set()
        self._prefixes_lock = threading.Lock()  # librados calls are observed from threads

    # -- observers --------------------------------------------------------------------------

    def observe_request(self, record: RequestRecord) -> None:
        """Count one finished request (an access-log observer)."""
        method = record.method if record.method in _METHODS else OTHER
        self.requests.labels(record.route, method, str(record.status)).inc()
        self.request_duration.labels(record.route, method).observe(record.duration)

    def observe_ceph_call(self, target: str, prefix: str, seconds: float) -> None:
        """Time one librados command (the Ceph client's call observer; any thread)."""
        self.ceph_call_duration.labels(target, self._bounded_prefix(prefix)).observe(seconds)

    def observe_cache(self, name: str, event: str) -> None:
        """Count one cache event (the cluster-state cache's observer)."""
        # A daemon's counters are one series for all daemons: their names are unbounded.
        self.cache_events.labels("perf" if name.startswith("perf ") else name, event).inc()

    def auth_failed(self, reason: str) -> None:
        self.auth_failures.labels(reason).inc()

    def audit_cluster_log_failed(self, reason: str) -> None:
        """Count one audit entry lost for the cluster log (the auditor's failure observer)."""
        self.audit_cluster_log_failures.labels(reason).inc()

    def _bounded_prefix(self, prefix: str) -> str:
        prefix = prefix[:MAX_PREFIX_LENGTH]
        with self._prefixes_lock:
            if prefix in self._prefixes:
                return prefix
            if len(self._prefixes) < MAX_COMMAND_PREFIXES:
                self._prefixes.add(prefix)
                return prefix
        return OTHER

    # -- state read at scrape time ----------------------------------------------------------

    @contextmanager
    def watching(
        self, ceph: CephClient, keys: KeyStore, jobs: JobTable, state: ClusterState
    ) -> Iterator[None]:
        """Report the state of these objects (the lifespan's) at every scrape while open."""
        collector = StateCollector(ceph, keys, jobs, state)
        self.registry.register(collector)
        try:
            yield
        finally:
            self.registry.unregister(collector)

    def render(self, accept: str = "") -> tuple[bytes, str]:
        """(body, content type): every metric in the format the Accept header prefers (the
        Prometheus text format 0.0.4, or OpenMetrics). Call it on the event loop: the job
        table it reads is only ever touched there."""
        encoder, content_type = choose_encoder(accept)
        return encoder(self.registry), content_type


class StateCollector(Collector):
    """Gauges computed when scraped: the job table by state, the cluster connection, the
    key store. Reading at scrape time keeps them exact without hooks in the code they watch."""

    def __init__(
        self, ceph: CephClient, keys: KeyStore, jobs: JobTable, state: ClusterState
    ) -> None:
        self._ceph = ceph
        self._keys = keys
        self._jobs = jobs
        self._state = state

    def describe(self) -> Iterable[Metric]:
        return self._families()

    def collect(self) -> Iterable[Metric]:
        return self._families()

    def _families(self) -> list[Metric]:
        counts = {PENDING: 0, SUCCESS: 0, FAILED: 0}
        for job in self._jobs.list_jobs():
            if job.is_finished:
                counts[job.state] += 1
        # Running jobs a client deleted still run (and hold a command slot): count them too.
        counts[PENDING] = self._jobs.running_count
        jobs = GaugeMetricFamily(
            "cephgw_jobs", "Jobs in this gateway's job table, by state.", labels=["state"]
        )
        for state, count in counts.items():
            jobs.add_metric([state], count)
        job_bytes = GaugeMetricFamily(
            "cephgw_jobs_finished_output_bytes",
            "Bytes of command output the finished jobs hold.",
            value=self._jobs.finished_output_bytes,
        )
        connected = GaugeMetricFamily(
            "cephgw_cluster_connected",
            "1 while the gateway holds a librados connection to the cluster.",
            value=int(self._ceph.connected),
        )
        keys_loaded = GaugeMetricFamily(
            "cephgw_keys_loaded",
            "1 once the API keys were read from the cluster.",
            value=int(self._keys.loaded),
        )
        throttle_tracked = GaugeMetricFamily(
            "cephgw_auth_throttle_tracked",
            "Client addresses, and (address, key name) pairs, whose recent failed "
            "authentications the login throttle remembers (bounded).",
            value=self._keys.throttle.tracked,
        )
        verifications_refused = CounterMetricFamily(
            "cephgw_auth_verifications_refused",
            "Requests answered 503 before any argon2 work: the verifications of the last "
            "second had spent auth_verifications_per_second.",
            value=self._keys.verifications_refused,
        )
        ages = GaugeMetricFamily(
            "cephgw_cache_age_seconds",
            "How old each map of the cluster-state cache is (since the cluster last confirmed "
            "it), by map; daemons' counters as the oldest of them.",
            labels=["map"],
        )
        by_name: dict[str, float] = {}
        for cached in self._state.maps():
            age = cached.age()
            if age is not None:
                name = "perf" if cached.name.startswith("perf ") else cached.name
                by_name[name] = max(age, by_name.get(name, 0.0))
        for name, age in sorted(by_name.items()):
            ages.add_metric([name], age)
        return [
            jobs,
            job_bytes,
            connected,
            keys_loaded,
            throttle_tracked,
            verifications_refused,
            ages,
        ]
