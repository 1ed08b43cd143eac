"""GET /metrics: Prometheus text from the app's own registry, counted by route template."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.metrics import MAX_COMMAND_PREFIXES, OTHER, GatewayMetrics
from app.settings import Settings
from tests.support.metrics import samples
from tests.support.server import wait_until_ready

pytestmark = pytest.mark.integration


def value(text: str, name: str, **labels: str) -> float:
    """The value of the one sample of `name` with exactly these labels (0 when absent)."""
    found = [v for ls, v in samples(text, name) if ls == labels]
    assert len(found) <= 1
    return found[0] if found else 0.0


@pytest.fixture(scope="module")
def fresh(
    settings: Settings, admin_auth: tuple[str, str], read_only_auth: tuple[str, str]
) -> Iterator[TestClient]:
    """An app of its own, so that its counters start at zero; every read of it goes to the
    cluster (no cache), so that each one shows in the librados metrics."""
    with TestClient(create_app(settings.model_copy(update={"cache_max_age": 0.0}))) as client:
        wait_until_ready(client, "/readyz")
        yield client


def scrape(client: TestClient, auth: tuple[str, str]) -> str:
    r = client.get("/metrics", auth=auth)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain; version=0.0.4")
    text: str = r.text
    return text


def test_metrics_need_a_key(fresh: TestClient) -> None:
    r = fresh.get("/metrics")
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"] == 'Basic realm="cephgw"'
    assert fresh.get("/metrics", auth=("test-ro", "wrong")).status_code == 401


def test_a_read_only_key_may_scrape(fresh: TestClient, read_only_auth: tuple[str, str]) -> None:
    assert "cephgw_http_requests_total" in scrape(fresh, read_only_auth)


def test_requests_are_counted_by_route_template_and_status(
    fresh: TestClient, admin_auth: tuple[str, str]
) -> None:
    before = scrape(fresh, admin_auth)
    for osd_id in (0, 1, 0):
        assert fresh.get(f"/osd/{osd_id}", auth=admin_auth).status_code == 200
    assert fresh.get("/osd/9999", auth=admin_auth).status_code == 404
    assert fresh.get("/no/such/path/42").status_code == 404
    after = scrape(fresh, admin_auth)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    route = {"route": "/osd/{osd_id}", "method": "GET"}
    assert delta("cephgw_http_requests_total", **route, status="200") == 3
    assert delta("cephgw_http_requests_total", **route, status="404") == 1
    assert delta("cephgw_http_request_duration_seconds_count", **route) == 4
    assert delta("cephgw_http_request_duration_seconds_sum", **route) > 0
    unmatched = {"route": "<unmatched>", "method": "GET", "status": "404"}
    assert delta("cephgw_http_requests_total", **unmatched) == 1
    # Never a raw path as a label.
    routes = {ls["route"] for ls, _ in samples(after, "cephgw_http_requests_total")}
    assert not {"/osd/0", "/osd/1", "/osd/9999", "/no/such/path/42"} & routes


def test_librados_latency_by_command_prefix(fresh: TestClient, admin_auth: tuple[str, str]) -> None:
    name = "cephgw_ceph_command_duration_seconds"
    assert fresh.get("/osd", auth=admin_auth).status_code == 200
    before = scrape(fresh, admin_auth)
    # The gateway knows the OSD map now: a read asks its epoch (`osd stat`), and fetches the
    # map (`osd dump`) only when it moved.
    assert fresh.get("/osd", auth=admin_auth).status_code == 200
    after = scrape(fresh, admin_auth)
    labels = {"target": "mon", "prefix": "osd stat"}
    assert value(after, f"{name}_count", **labels) > value(before, f"{name}_count", **labels)
    assert value(after, f"{name}_sum", **labels) > 0
    dump = {"target": "mon", "prefix": "osd dump"}
    assert value(after, f"{name}_count", **dump) >= 1  # the first read fetched the map
    assert value(after, f"{name}_bucket", **labels, le="+Inf") == value(
        after, f"{name}_count", **labels
    )
    # The key store's reads go through the same place.
    assert value(after, f"{name}_count", target="mon", prefix="config-key dump") >= 1


def test_auth_failures_are_counted_by_reason(
    fresh: TestClient, admin_auth: tuple[str, str], read_only_auth: tuple[str, str]
) -> None:
    before = scrape(fresh, admin_auth)
    assert fresh.get("/osd").status_code == 401
    assert fresh.get("/osd", auth=(admin_auth[0], "not-the-key")).status_code == 401
    assert fresh.get("/osd", auth=("no-such-key", "x")).status_code == 401
    assert fresh.delete("/request", auth=read_only_auth).status_code == 403
    after = scrape(fresh, admin_auth)
    name = "cephgw_auth_failures_total"
    for reason, count in {"missing": 1, "invalid": 2, "forbidden": 1}.items():
        assert value(after, name, reason=reason) - value(before, name, reason=reason) == count


def test_jobs_by_state_are_read_at_scrape_time(
    fresh: TestClient, admin_auth: tuple[str, str]
) -> None:
    assert fresh.delete("/request", auth=admin_auth).status_code == 200
    ok = fresh.post("/request?wait=1", json={"prefix": "osd stat"}, auth=admin_auth)
    assert ok.json()["state"] == "success"
    failed = fresh.post(
        "/request?wait=1",
        json={"prefix": "osd pool get", "pool": "no-such-pool", "var": "size"},
        auth=admin_auth,
    )
    assert failed.json()["state"] == "failed"
    text = scrape(fresh, admin_auth)
    assert value(text, "cephgw_jobs", state="success") == 1
    assert value(text, "cephgw_jobs", state="failed") == 1
    assert value(text, "cephgw_jobs", state="pending") == 0
    assert value(text, "cephgw_jobs_finished_output_bytes") > 0
    assert value(text, "cephgw_cluster_connected") == 1
    assert value(text, "cephgw_keys_loaded") == 1
    # The jobs' mon commands are timed too.
    assert value(
        text, "cephgw_ceph_command_duration_seconds_count", target="mon", prefix="osd stat"
    )
    # A cleared table is seen at the next scrape.
    assert fresh.delete("/request", auth=admin_auth).status_code == 200
    assert value(scrape(fresh, admin_auth), "cephgw_jobs", state="success") == 0


def test_process_metrics_are_there(fresh: TestClient, admin_auth: tuple[str, str]) -> None:
    text = scrape(fresh, admin_auth)
    assert samples(text, "process_resident_memory_bytes")


def test_metrics_public_opens_it(settings: Settings) -> None:
    public = settings.model_copy(update={"metrics_public": True})
    with TestClient(create_app(public)) as client:
        r = client.get("/metrics")
        assert r.status_code == 200
        assert "cephgw_http_requests_total" in r.text


def test_two_apps_count_apart(settings: Settings, admin_auth: tuple[str, str]) -> None:
    public = settings.model_copy(update={"metrics_public": True})
    with TestClient(create_app(public)) as one, TestClient(create_app(public)) as two:
        one.get("/healthz")
        one.get("/healthz")
        labels = {"route": "/healthz", "method": "GET", "status": "200"}
        assert value(one.get("/metrics").text, "cephgw_http_requests_total", **labels) == 2
        assert value(two.get("/metrics").text, "cephgw_http_requests_total", **labels) == 0


def test_command_prefix_labels_are_bounded() -> None:
    metrics = GatewayMetrics()
    for i in range(MAX_COMMAND_PREFIXES + 10):
        metrics.observe_ceph_call("mon", f"made up {i}", 0.001)
    metrics.observe_ceph_call("mon", "made up 0", 0.001)
    text = metrics.render()[0].decode()
    prefixes = {
        ls["prefix"] for ls, _ in samples(text, "cephgw_ceph_command_duration_seconds_count")
    }
    assert len(prefixes) == MAX_COMMAND_PREFIXES + 1
    name = "cephgw_ceph_command_duration_seconds_count"
    assert value(text, name, target="mon", prefix=OTHER) == 10
    assert value(text, name, target="mon", prefix="made up 0") == 2


def test_openmetrics_when_the_scraper_asks(fresh: TestClient, admin_auth: tuple[str, str]) -> None:
    accept = "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"
    r = fresh.get("/metrics", auth=admin_auth, headers={"Accept": accept})
    assert r.headers["content-type"].startswith("application/openmetrics-text; version=1.0.0")
    assert r.text.endswith("# EOF\n")


def test_metrics_are_in_the_openapi(fresh: TestClient) -> None:
    operation = fresh.get("/openapi.json").json()["paths"]["/metrics"]["get"]
    assert operation["operationId"] == "get_metrics"
    assert "text/plain; version=0.0.4; charset=utf-8" in operation["responses"]["200"]["content"]
