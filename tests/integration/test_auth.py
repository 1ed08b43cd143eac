"""Auth against the real cluster: every way a credential can be missing, wrong or revoked,
and the throttling of clients that fail too often."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from app.auth import KEY_PREFIX, LEGACY_KEY_PREFIX, LOOKUP_BURST, LOOKUPS_PER_SECOND, Role
from app.main import create_app
from app.settings import Settings
from cli.dev_cluster import DevCluster
from tests.support import TEST_POOL, ask_until, wait_until
from tests.support.cluster import ceph_cli, create_key
from tests.support.server import cephgw, gateway, wait_until_ready

pytestmark = pytest.mark.integration


def _basic(raw: bytes) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def _assert_401(response_status: int, body: dict[str, object], headers: dict[str, str]) -> None:
    assert response_status == 401
    assert isinstance(body.get("message"), str)
    assert body["message"]
    assert headers["www-authenticate"].startswith('Basic realm="')


def _works(client: TestClient, auth: tuple[str, str]) -> bool:
    status: int = client.get("/pool", auth=auth).status_code
    return status == 200


def test_no_credentials_is_401_with_challenge(client: TestClient) -> None:
    r = client.get("/pool")
    _assert_401(r.status_code, r.json(), dict(r.headers))
    assert "Authentication required" in r.json()["message"]


def test_unknown_key_name_is_401(client: TestClient) -> None:
    r = client.get("/pool", auth=("nobody-has-this-name", "whatever"))
    _assert_401(r.status_code, r.json(), dict(r.headers))


def test_wrong_key_is_401(client: TestClient, admin_auth: tuple[str, str]) -> None:
    r = client.get("/pool", auth=(admin_auth[0], admin_auth[1] + "x"))
    _assert_401(r.status_code, r.json(), dict(r.headers))


def test_right_key_is_200(client: TestClient, admin_auth: tuple[str, str]) -> None:
    r = client.get("/pool", auth=admin_auth)
    assert r.status_code == 200
    assert isinstance(r.json(), list)


def test_read_only_key_may_get(client: TestClient, read_only_auth: tuple[str, str]) -> None:
    r = client.get("/pool", auth=read_only_auth)
    assert r.status_code == 200
    assert isinstance(r.json(), list)


@pytest.mark.parametrize(
    "header",
    [
        _basic("ünïcödé:pässwörd".encode()),
        _basic(b"\xff\xfe:\xff"),
        {"Authorization": "Basic not-base64!!"},
        _basic(b"no-colon-at-all"),
        {"Authorization": "Bearer abc"},
    ],
    ids=["utf8", "not-utf8", "not-base64", "no-colon", "other-scheme"],
)
def test_malformed_or_foreign_credentials_are_401_not_500(
    client: TestClient, header: dict[str, str]
) -> None:
    r = client.get("/pool", headers=header)
    _assert_401(r.status_code, r.json(), dict(r.headers))


def test_legacy_module_key_with_colon_is_accepted_as_admin(
    client: TestClient, cluster: DevCluster
) -> None:
    # The module split on every ':' so such a key never worked there; here it does.
    secret = "legacy:key:with:colons"
    ceph_cli(cluster, "config-key", "set", LEGACY_KEY_PREFIX + "legacy-colon", secret)
    try:
        ask_until(
            lambda: client.get("/pool", auth=("legacy-colon", secret)),
            lambda r: r.status_code == 200,
            "the legacy key with colons works",
            limit=5,
            interval=0.2,
            show=lambda r: r.text,
        )
        wrong = client.get("/pool", auth=("legacy-colon", "legacy:key"))
        assert wrong.status_code == 401
    finally:
        ceph_cli(cluster, "config-key", "rm", LEGACY_KEY_PREFIX + "legacy-colon")


@pytest.fixture
def strict_client(settings: Settings) -> Iterator[TestClient]:
    """A gateway started with --no-legacy-keys."""
    strict = settings.model_copy(update={"legacy_keys": False})
    with TestClient(create_app(strict)) as test_client:
        yield test_client


def test_legacy_keys_can_be_refused(
    strict_client: TestClient, cluster: DevCluster, admin_auth: tuple[str, str]
) -> None:
    ceph_cli(cluster, "config-key", "set", LEGACY_KEY_PREFIX + "legacy-off", "plainsecret")
    try:
        wait_until_ready(strict_client, "/pool", admin_auth, limit=10)
        r = strict_client.get("/pool", auth=("legacy-off", "plainsecret"))
        assert r.status_code == 401
    finally:
        ceph_cli(cluster, "config-key", "rm", LEGACY_KEY_PREFIX + "legacy-off")


def test_deleted_key_stops_working_within_5_s(
    client: TestClient, settings: Settings, cluster: DevCluster
) -> None:
    secret = create_key(settings, "short-lived", Role.READ_ONLY)
    wait_until(
        lambda: _works(client, ("short-lived", secret)), "the new key works", 5, interval=0.1
    )
    # Warm the verification cache, then delete behind the gateway's back.
    assert client.get("/pool", auth=("short-lived", secret)).status_code == 200
    ceph_cli(cluster, "config-key", "rm", KEY_PREFIX + "short-lived")
    wait_until(
        lambda: not _works(client, ("short-lived", secret)),
        "the deleted key no longer works",
        5,
        interval=0.1,
    )


def test_replaced_key_old_secret_stops_working(client: TestClient, settings: Settings) -> None:
    old = create_key(settings, "rotated", Role.ADMIN)
    wait_until(lambda: _works(client, ("rotated", old)), "the new key works", 5, interval=0.1)
    new = create_key(settings, "rotated", Role.ADMIN)  # deletes and re-creates
    wait_until(
        lambda: not _works(client, ("rotated", old)),
        "the replaced key's old secret no longer works",
        5,
        interval=0.1,
    )
    assert client.get("/pool", auth=("rotated", new)).status_code == 200


def test_keys_are_stored_hashed(cluster: DevCluster, admin_auth: tuple[str, str]) -> None:
    stored = ceph_cli(cluster, "config-key", "get", KEY_PREFIX + admin_auth[0])
    assert admin_auth[1] not in stored
    assert '"hash": "$argon2id$' in stored
    assert '"role": "admin"' in stored


# -- a key made or replaced elsewhere works at once ---------------------------------------------


@pytest.fixture(scope="module")
def never_refreshing_client(
    settings: Settings, admin_auth: tuple[str, str]
) -> Iterator[TestClient]:
    """A gateway that re-reads its keys only once an hour: what it knows of a key made after
    its start comes from the on-miss lookup alone."""
    slow = settings.model_copy(update={"key_refresh_interval": 3600.0})
    with TestClient(create_app(slow)) as test_client:
        wait_until_ready(test_client, "/pool", admin_auth)
        yield test_client


def _config_key_gets(client: TestClient, auth: tuple[str, str]) -> float:
    """How many `config-key get` calls the gateway made (its own /metrics)."""
    text = client.get("/metrics", auth=auth).text
    series = 'cephgw_ceph_command_duration_seconds_count{prefix="config-key get",target="mon"} '
    return sum(float(line[len(series) :]) for line in text.splitlines() if line.startswith(series))


def test_a_new_key_works_at_once_on_a_running_gateway(
    never_refreshing_client: TestClient, cluster: DevCluster
) -> None:
    made = cephgw(cluster, "create-key", "fresh-key", "--role", "read-only")
    assert made.returncode == 0, made.stderr
    secret = made.stdout.strip()
    try:
        r = never_refreshing_client.get("/pool", auth=("fresh-key", secret))
        assert r.status_code == 200, r.text
        assert r.json() == never_refreshing_client.get("/pool", auth=("fresh-key", secret)).json()
        # Still read-only.
        assert (
            never_refreshing_client.delete("/request", auth=("fresh-key", secret)).status_code
            == 403
        )
    finally:
        cephgw(cluster, "delete-key", "fresh-key")


def test_a_replaced_key_works_at_once_and_the_old_one_does_not(
    never_refreshing_client: TestClient, settings: Settings
) -> None:
    old = create_key(settings, "replaced-at-once", Role.ADMIN)
    assert never_refreshing_client.get("/pool", auth=("replaced-at-once", old)).status_code == 200
    new = create_key(settings, "replaced-at-once", Role.ADMIN)
    assert never_refreshing_client.get("/pool", auth=("replaced-at-once", new)).status_code == 200
    assert never_refreshing_client.get("/pool", auth=("replaced-at-once", old)).status_code == 401


def test_unknown_names_cost_the_mon_a_bounded_number_of_lookups(
    never_refreshing_client: TestClient, admin_auth: tuple[str, str]
) -> None:
    before = _config_key_gets(never_refreshing_client, admin_auth)
    started = time.monotonic()
    for i in range(60):
        r = never_refreshing_client.get("/pool", auth=(f"no-such-key-{i}", "x"))
        assert r.status_code == 401
    elapsed = time.monotonic() - started
    lookups = _config_key_gets(never_refreshing_client, admin_auth) - before
    # Each lookup is up to two gets (cephgw's key, then the module's legacy one).
    budget = 2 * (LOOKUP_BURST + LOOKUPS_PER_SECOND * elapsed)
    assert 0 < lookups <= budget, (lookups, budget, elapsed)
    assert lookups < 2 * 60


# -- failed authentications are throttled -------------------------------------------------------

THROTTLE = {"auth_failures_per_client": 6, "auth_failures_per_key": 3, "auth_failure_window": 60.0}


@pytest.fixture(scope="module")
def throttling_client(settings: Settings, admin_auth: tuple[str, str]) -> Iterator[TestClient]:
    """A gateway with the login throttle on, behind the mapping of X-Forwarded-For that
    `cephgw serve` puts before the app (cli/serve.py): the header names each client."""
    app = create_app(settings.model_copy(update=THROTTLE))
    app.add_middleware(ProxyHeadersMiddleware, trusted_hosts="*")
    with TestClient(app) as test_client:
        wait_until_ready(test_client, "/pool", admin_auth)
        yield test_client


def _from(address: str) -> dict[str, str]:
    return {"X-Forwarded-For": address}


def _assert_429(r: httpx.Response) -> None:
    assert r.status_code == 429, r.text
    assert 1 <= int(r.headers["retry-after"]) <= 60
    assert r.headers["content-type"] == "application/json"
    assert r.json() == {
        "message": (
            "Too many failed authentications from this client; "
            f"retry in {r.headers['retry-after']} s"
        )
    }


def test_failed_logins_on_a_key_are_throttled_for_that_address_only(
    throttling_client: TestClient, admin_auth: tuple[str, str]
) -> None:
    name = admin_auth[0]
    attacker, user = _from("203.0.113.10"), _from("198.51.100.20")
    for _ in range(3):
        r = throttling_client.get("/pool", auth=(name, "a-guess"), headers=attacker)
        _assert_401(r.status_code, r.json(), dict(r.headers))
    # The fourth try is refused before any verification, even with the right key.
    _assert_429(throttling_client.get("/pool", auth=(name, "a-guess"), headers=attacker))
    _assert_429(throttling_client.get("/pool", auth=admin_auth, headers=attacker))
    # The same key from its rightful user's address still works.
    r = throttling_client.get("/pool", auth=admin_auth, headers=user)
    assert r.status_code == 200, r.text
    assert any(pool["pool_name"] == TEST_POOL for pool in r.json())
    # Other names from the attacker's address are only refused, as before (3 failures of 6).
    r = throttling_client.get("/pool", auth=("another-name", "x"), headers=attacker)
    _assert_401(r.status_code, r.json(), dict(r.headers))
    metrics = throttling_client.get("/metrics", auth=admin_auth, headers=user).text
    assert 'cephgw_auth_failures_total{reason="throttled"} 2.0' in metrics
    # The attacker's address, its pairs with the admin key's name and with another-name.
    assert "cephgw_auth_throttle_tracked 3.0" in metrics


def test_an_address_failing_on_many_names_is_throttled_on_every_name(
    throttling_client: TestClient, admin_auth: tuple[str, str]
) -> None:
    scanner = _from("203.0.113.11")
    for n in range(6):
        r = throttling_client.get("/pool", auth=(f"scanned-{n}", "x"), headers=scanner)
        _assert_401(r.status_code, r.json(), dict(r.headers))
    _assert_429(throttling_client.get("/pool", auth=admin_auth, headers=scanner))
    # A POST with a body is held back too, before the body is looked at.
    r = throttling_client.post("/request", auth=admin_auth, headers=scanner, content=b"{")
    _assert_429(r)
    assert throttling_client.get("/pool", auth=admin_auth).status_code == 200


def test_past_the_verification_budget_a_request_is_503_and_counted(
    settings: Settings, admin_auth: tuple[str, str]
) -> None:
    # One argon2 verification every ten seconds: the admin key's first request takes it.
    with gateway(settings, admin_auth, auth_verifications_per_second=0.1) as stingy:
        r = stingy.get("/pool", auth=("no-such-key", "x"))
        assert r.status_code == 503, r.text
        assert r.headers["retry-after"] == "10"
        assert r.json() == {"message": "Too many key verifications at once; retry shortly"}
        # The admin key was verified once: cached, it needs none of the budget.
        metrics = stingy.get("/metrics", auth=admin_auth)
        assert metrics.status_code == 200
        assert "cephgw_auth_verifications_refused_total 1.0" in metrics.text
