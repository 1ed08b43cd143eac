"""GET /healthz and /readyz: no key, 200 or 503 with the checks that say why."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from app.tls import make_self_signed_cert
from app.tls_reload import ServedTls
from tests.support import ask_until
from tests.support.certificates import certificate_pem
from tests.support.server import free_port, wait_until_ready

pytestmark = pytest.mark.integration


def keys_loaded(client: TestClient) -> None:
    """Until /readyz says the keys are loaded (whatever it says of the rest)."""
    ask_until(
        lambda: client.get("/readyz").json(),
        lambda body: body["checks"]["keys"]["status"] == "ok",
        "GET /readyz says the keys are loaded",
        limit=30,
        interval=0.2,
    )


@pytest.fixture
def dead_cluster_settings(settings: Settings, tmp_path: Path) -> Settings:
    """The test cluster's settings, but with a conf whose mon address answers nothing."""
    conf = tmp_path / "dead.conf"
    conf.write_text(f"[global]\nmon host = 127.0.0.1:{free_port()}\n")
    return settings.model_copy(
        update={"conf": conf, "connect_timeout": 1.0, "reconnect_interval": 1.0}
    )


@pytest.fixture
def unreachable(dead_cluster_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(dead_cluster_settings)) as client:
        yield client


def test_healthz_is_ok_without_a_key(client: TestClient) -> None:
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "checks": {}}


def test_readyz_is_ok_with_every_check_when_connected(client: TestClient) -> None:
    r = client.get("/readyz")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"cluster", "maps", "keys", "tls"}
    assert all(c["status"] == "ok" for c in body["checks"].values())
    assert body["checks"]["cluster"]["detail"].startswith("a mon answered in ")
    assert body["checks"]["maps"]["detail"] == "the cluster maps are refreshed as reads need"
    # An app built without a certificate terminates no TLS (TestClient, --insecure-http).
    assert "plain HTTP" in body["checks"]["tls"]["detail"]


def test_probes_ignore_credentials(client: TestClient) -> None:
    assert client.get("/healthz", auth=("nobody", "wrong")).status_code == 200
    assert client.get("/readyz", auth=("nobody", "wrong")).status_code == 200


def test_readyz_is_503_when_the_cluster_is_unreachable(unreachable: TestClient) -> None:
    time.sleep(1.5)  # at least one connect attempt failed
    r = unreachable.get("/readyz")
    assert r.status_code == 503
    body = r.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["cluster"]["status"] == "unavailable"
    assert body["checks"]["cluster"]["detail"].startswith("not connected: cannot connect")
    assert body["checks"]["keys"]["status"] == "unavailable"
    assert body["checks"]["tls"]["status"] == "ok"
    # The process itself is fine: a restart would not help, so liveness stays ok.
    assert unreachable.get("/healthz").status_code == 200


def test_readyz_is_503_when_no_mon_answers_in_time(settings: Settings) -> None:
    # A timeout no mon can meet: the probe gives up, and says so.
    impatient = settings.model_copy(update={"readiness_timeout": 1e-6})
    with TestClient(create_app(impatient)) as client:
        keys_loaded(client)
        r = client.get("/readyz")
        assert r.status_code == 503
        assert r.json()["checks"]["cluster"] == {
            "status": "unavailable",
            "detail": "connected, but no mon answered within 1e-06 s",
        }


def test_readyz_reports_the_served_certificate(settings: Settings) -> None:
    cert_pem, _ = make_self_signed_cert("gw.example")
    with TestClient(create_app(settings, tls=ServedTls(cert_pem))) as client:
        wait_until_ready(client, "/readyz")
        tls = client.get("/readyz").json()["checks"]["tls"]
    assert tls["status"] == "ok"
    not_after = x509.load_pem_x509_certificate(cert_pem.encode()).not_valid_after_utc
    assert tls["detail"] == f"certificate valid until {not_after}"


def test_readyz_is_503_with_an_expired_certificate(settings: Settings) -> None:
    now = dt.datetime.now(dt.UTC)
    expired = certificate_pem(now - dt.timedelta(days=30), now - dt.timedelta(days=1))
    with TestClient(create_app(settings, tls=ServedTls(expired))) as client:
        keys_loaded(client)
        r = client.get("/readyz")
    assert r.status_code == 503
    body = r.json()
    assert body["checks"]["tls"]["status"] == "unavailable"
    assert body["checks"]["tls"]["detail"].startswith("certificate expired at ")
    assert body["checks"]["cluster"]["status"] == "ok"


def test_readiness_is_in_the_openapi_with_its_503(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert paths["/healthz"]["get"]["operationId"] == "get_health"
    assert paths["/healthz"]["get"]["tags"] == ["health"]
    ready = paths["/readyz"]["get"]
    assert ready["operationId"] == "get_readiness"
    assert ready["responses"]["503"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/HealthReport"
    }
    assert "security" not in ready
