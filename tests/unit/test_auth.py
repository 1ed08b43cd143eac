"""Pure parts of the key store, and the login throttle on an injected clock."""

from __future__ import annotations

import errno
import json
from collections.abc import Mapping
from typing import Any, cast

import anyio
import pytest

from app.auth import (
    KEY_NAME_PATTERN,
    KEY_PREFIX,
    Identity,
    KeyStore,
    LoginThrottle,
    Role,
    _crypt_context,
    new_secret,
    parse_stored_key,
)
from app.ceph.client import CephClient
from app.errors import CephError, ServiceUnavailable, TooManyRequests, Unauthorized
from app.settings import Settings
from tests.support.jobs import FakeClock


def test_new_secrets_are_long_and_distinct() -> None:
    secrets = {new_secret() for _ in range(1000)}
    assert len(secrets) == 1000
    assert all(len(s) >= 22 for s in secrets)  # >= 128 bits in URL-safe base64


def test_parse_stored_key() -> None:
    raw = json.dumps({"hash": "$argon2id$x", "role": "read-only", "created": "2026-01-01"})
    key = parse_stored_key("k", raw)
    assert key is not None
    assert (key.name, key.role, key.secret_hash, key.legacy) == (
        "k",
        Role.READ_ONLY,
        "$argon2id$x",
        False,
    )


def test_malformed_records_are_ignored() -> None:
    assert parse_stored_key("k", "not json") is None
    assert parse_stored_key("k", json.dumps({"role": "admin"})) is None
    assert parse_stored_key("k", json.dumps({"hash": "h", "role": "root"})) is None


def test_key_names() -> None:
    assert KEY_NAME_PATTERN.match("admin")
    assert KEY_NAME_PATTERN.match("zabbix.prod-1@dc")
    assert not KEY_NAME_PATTERN.match("")
    assert not KEY_NAME_PATTERN.match("a/b")
    assert not KEY_NAME_PATTERN.match("-lead")
    assert not KEY_NAME_PATTERN.match("x" * 65)


# -- the login throttle -------------------------------------------------------------------------


def _throttle(clock: FakeClock, **limits: int) -> LoginThrottle:
    values = {"per_client": 5, "per_key": 3, "tracked_limit": 100, **limits}
    return LoginThrottle(
        per_client=values["per_client"],
        per_key=values["per_key"],
        window=60.0,
        tracked_limit=values["tracked_limit"],
        clock=clock,
    )


def test_a_few_failures_on_one_name_throttle_that_address_on_that_name() -> None:
    clock = FakeClock()
    throttle = _throttle(clock)
    for _ in range(2):
        throttle.failed("192.0.2.1", "ops")
        clock.now += 1
    assert throttle.retry_after("192.0.2.1", "ops") is None
    throttle.failed("192.0.2.1", "ops")  # the third, at t=1002
    # Until the first of the three (t=1000) is a window old.
    assert throttle.retry_after("192.0.2.1", "ops") == 58
    assert throttle.retry_after("192.0.2.1", "other-key") is None


def test_the_right_key_from_another_address_is_not_held_back() -> None:
    clock = FakeClock()
    throttle = _throttle(clock)
    for _ in range(10):
        throttle.failed("198.51.100.66", "ops")  # an attacker on the legitimate user's key
    assert throttle.retry_after("198.51.100.66", "ops") is not None
    assert throttle.retry_after("192.0.2.1", "ops") is None


def test_failures_across_names_throttle_the_address() -> None:
    clock = FakeClock()
    throttle = _throttle(clock)
    for n in range(5):
        throttle.failed("192.0.2.1", f"guess-{n}")
    assert throttle.retry_after("192.0.2.1", "never-tried") == 60
    assert throttle.retry_after("192.0.2.2", "never-tried") is None


def test_the_window_slides() -> None:
    clock = FakeClock()
    throttle = _throttle(clock)
    for _ in range(3):
        throttle.failed("192.0.2.1", "ops")
        clock.now += 10  # failures at 1000, 1010, 1020
    clock.now = 1060  # the first is a window old: one more try
    assert throttle.retry_after("192.0.2.1", "ops") is None
    throttle.failed("192.0.2.1", "ops")  # 1010, 1020, 1060 in the window now
    assert throttle.retry_after("192.0.2.1", "ops") == 10
    clock.now = 1081  # only 1060 is within the window
    assert throttle.retry_after("192.0.2.1", "ops") is None


def test_retry_after_is_whole_seconds_and_at_least_one() -> None:
    clock = FakeClock()
    throttle = _throttle(clock)
    for _ in range(3):
        throttle.failed("192.0.2.1", "ops")
    clock.now += 59.5
    assert throttle.retry_after("192.0.2.1", "ops") == 1


def test_a_success_forgives_the_name_but_not_the_address() -> None:
    clock = FakeClock()
    throttle = _throttle(clock)
    for name in ("ops", "ops", "x", "y"):
        throttle.failed("192.0.2.1", name)
    throttle.succeeded("192.0.2.1", "ops")
    throttle.failed("192.0.2.1", "ops")
    throttle.failed("192.0.2.1", "ops")
    # Two failures on ops since the success (of 3): still allowed on the name, but the
    # address made its five failures in the window.
    assert throttle.retry_after("192.0.2.1", "ops") == 60
    assert throttle.retry_after("192.0.2.1", "z") == 60


def test_a_limit_of_zero_throttles_nothing_and_remembers_nothing() -> None:
    clock = FakeClock()
    throttle = _throttle(clock, per_client=0, per_key=0)
    for _ in range(100):
        throttle.failed("192.0.2.1", "ops")
    assert throttle.retry_after("192.0.2.1", "ops") is None
    assert throttle.tracked == 0


def test_memory_is_bounded_and_the_quietest_go_first() -> None:
    clock = FakeClock()
    throttle = _throttle(clock, tracked_limit=10)
    for _ in range(3):
        throttle.failed("192.0.2.1", "ops")
    for n in range(1000):
        clock.now += 0.001
        throttle.failed(f"203.0.113.{n % 250}/{n}", "x" * 100_000)  # long names too
    assert throttle.tracked <= 20  # ten addresses, ten pairs
    assert throttle.retry_after("192.0.2.1", "ops") is None  # forgotten, the quietest
    # A pair holds a digest of the name, not the name a client sent (of any length).
    assert all(len(digest) == 16 for _, digest in throttle._by_pair)


def test_failures_a_window_old_are_forgotten() -> None:
    clock = FakeClock()
    throttle = _throttle(clock)
    for n in range(50):
        throttle.failed(f"192.0.2.{n}", "ops")
    clock.now += 61
    throttle.failed("198.51.100.1", "ops")
    assert throttle.tracked == 2  # only the newest address and its pair


# -- the key store with its throttle and its verification budget ------------------------------

OPS_SECRET = "the-right-secret"


class OneKeyInConfigKey:
    """A cluster whose config-key holds one admin key, `ops`."""

    def __init__(self) -> None:
        record = {"hash": _crypt_context().hash(OPS_SECRET), "role": "admin"}
        self.keys = {KEY_PREFIX + "ops": json.dumps(record)}

    async def mon_json(self, command: Mapping[str, Any], target: str | None = None) -> Any:
        assert command["prefix"] == "config-key dump"
        return {k: v for k, v in self.keys.items() if k.startswith(command["key"])}

    async def amon_command(
        self, command: Mapping[str, Any], inbuf: bytes = b"", target: str | None = None
    ) -> bytes:
        assert command["prefix"] == "config-key get"
        if command["key"] not in self.keys:
            raise CephError(errno.ENOENT, "no such key")
        return self.keys[command["key"]].encode()


class CountingCrypt:
    """The store's passlib context, counting the argon2 verifications it makes."""

    def __init__(self, crypt: Any) -> None:
        self._crypt = crypt
        self.verified = 0

    def verify(self, secret: str, secret_hash: str) -> bool:
        self.verified += 1
        ok: bool = self._crypt.verify(secret, secret_hash)
        return ok


def _store(**settings: Any) -> tuple[KeyStore, CountingCrypt]:
    store = KeyStore(cast(CephClient, OneKeyInConfigKey()), Settings(legacy_keys=False, **settings))
    anyio.run(store.refresh)
    crypt = CountingCrypt(store._crypt)
    store._crypt = crypt  # to count the argon2 work each refusal cost
    return store, crypt


def test_a_throttled_client_is_refused_before_any_verification() -> None:
    store, crypt = _store(auth_failures_per_key=2)
    for _ in range(2):
        with pytest.raises(Unauthorized):
            anyio.run(store.authenticate, "ops", "a-guess", "203.0.113.1")
    assert crypt.verified == 2
    with pytest.raises(TooManyRequests) as refused:
        anyio.run(store.authenticate, "ops", OPS_SECRET, "203.0.113.1")
    assert refused.value.headers is not None
    assert 1 <= int(refused.value.headers["Retry-After"]) <= 60
    assert crypt.verified == 2
    # The right key from another address: verified, and then cached.
    for _ in range(2):
        identity = anyio.run(store.authenticate, "ops", OPS_SECRET, "192.0.2.1")
        assert identity == Identity("ops", Role.ADMIN)
    assert crypt.verified == 3


def test_past_the_verification_budget_is_503_without_argon2_work() -> None:
    # One verification at once, the next two seconds later.
    store, crypt = _store(auth_verifications_per_second=0.5)
    anyio.run(store.authenticate, "ops", OPS_SECRET, "192.0.2.1")  # verified, then cached
    for name, guess in (("ops", "a-guess"), ("no-such-key", "x")):  # the decoy costs as much
        with pytest.raises(ServiceUnavailable) as refused:
            anyio.run(store.authenticate, name, guess, "192.0.2.3")
        assert refused.value.headers == {"Retry-After": "2"}
    assert crypt.verified == 1
    # A credential verified before needs no argon2, so none of the budget.
    assert anyio.run(store.authenticate, "ops", OPS_SECRET, "192.0.2.1").role is Role.ADMIN
    assert crypt.verified == 1


def test_requests_with_one_credential_at_once_share_one_verification() -> None:
    store, crypt = _store(auth_verifications_per_second=1.0)  # one verification, no more

    async def main() -> list[Identity | BaseException]:
        answers: list[Identity | BaseException] = []

        async def ask(client: str, secret: str) -> None:
            try:
                answers.append(await store.authenticate("ops", secret, client))
            except (Unauthorized, ServiceUnavailable) as exc:
                answers.append(exc)

        async with anyio.create_task_group() as tg:
            for n in range(10):
                tg.start_soon(ask, f"192.0.2.{n}", OPS_SECRET)
        return answers

    assert anyio.run(main) == [Identity("ops", Role.ADMIN)] * 10
    assert crypt.verified == 1


def test_one_wrong_secret_sent_at_once_from_several_clients_costs_one_verification() -> None:
    store, crypt = _store()

    async def main() -> list[str]:
        refused: list[str] = []

        async def ask(client: str) -> None:
            with pytest.raises(Unauthorized):
                await store.authenticate("ops", "a-guess", client)
            refused.append(client)

        async with anyio.create_task_group() as tg:
            for n in range(5):
                tg.start_soon(ask, f"192.0.2.{n}")
        return refused

    assert len(anyio.run(main)) == 5
    assert crypt.verified == 1
