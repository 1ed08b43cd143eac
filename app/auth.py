"""API keys: hashed in config-key, verified once, then cached so steady-state auth is cheap.

Keys live under `cephgw/keys/<name>` as JSON `{"hash", "role", "created"}` with an argon2
hash. The restful module's plaintext keys (`mgr/restful/keys/<name>`) are accepted as admin
keys unless disabled, so clients keep working while a cluster moves off the module.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import enum
import hashlib
import hmac
import json
import logging
import math
import re
import secrets
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import anyio
import anyio.to_thread
from fastapi import Request
from fastapi.security import HTTPBasic
from passlib.context import CryptContext

from app.ceph import config_key
from app.ceph.client import CephClient
from app.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    GatewayError,
    NotFound,
    ServiceUnavailable,
    TooManyRequests,
    Unauthorized,
)
from app.settings import Settings

log = logging.getLogger(__name__)

_K = TypeVar("_K")

KEY_PREFIX = "cephgw/keys/"
LEGACY_KEY_PREFIX = "mgr/restful/keys/"
KEY_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
# Bounds the verification cache; past it the cache starts over rather than grow.
_CACHE_LIMIT = 10_000
# Credentials the loaded keys refuse are checked against config-key itself (a key made a
# moment ago on another gateway, or replaced), at most this often: a flood of unknown names
# costs the mon a few reads a second, not one per request.
LOOKUPS_PER_SECOND = 5.0
LOOKUP_BURST = 10
# Client addresses, and (address, key name) pairs, whose failures the login throttle keeps at
# most; past it the longest quiet goes first (an attacker with more addresses than this is
# bounded by the verification budget instead, not by being remembered).
THROTTLE_TRACKED_LIMIT = 10_000
# The requests whose client address the server does not know share this one.
UNKNOWN_CLIENT = "<unknown>"


class Role(enum.StrEnum):
    ADMIN = "admin"
    READ_ONLY = "read-only"


@dataclass(frozen=True)
class StoredKey:
    """One key as stored; `secret_hash` is the argon2 hash (or, for a legacy key, the key)."""

    name: str
    role: Role
    secret_hash: str
    created: str | None
    legacy: bool = False


@dataclass(frozen=True)
class Identity:
    """Who made a request."""

    name: str
    role: Role


def _crypt_context() -> CryptContext:
    # OWASP's argon2id minimum: ~20 ms a hash, paid once per key thanks to the cache.
    return CryptContext(
        schemes=["argon2"],
        argon2__type="ID",
        argon2__memory_cost=19456,
        argon2__rounds=2,
        argon2__parallelism=1,
    )


def new_secret() -> str:
    """A fresh key: 192 random bits, URL-safe so it survives shells and URLs."""
    return secrets.token_urlsafe(24)


def parse_stored_key(name: str, raw: str) -> StoredKey | None:
    try:
        data = json.loads(raw)
        return StoredKey(
            name=name,
            role=Role(data["role"]),
            secret_hash=str(data["hash"]),
            created=data.get("created"),
        )
    except (ValueError, KeyError, TypeError):
        log.warning("ignoring malformed key record %s%s", KEY_PREFIX, name)
        return None


class TokenBucket:
    """`rate` takes a second on average, `burst` at once."""

    def __init__(
        self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._rate, self._burst, self._clock = rate, float(burst), clock
        self._tokens = float(burst)
        self._at = clock()

    def take(self) -> bool:
        now = self._clock()
        self._tokens = min(self._burst, self._tokens + (now - self._at) * self._rate)
        self._at = now
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True


class LoginThrottle:
    """Failed authentications remembered per client address and per (address, key name).

    An address that failed `per_client` times within `window` seconds, or `per_key` times on
    one key name, is refused (`retry_after`) until the oldest of those failures is `window`
    seconds old: a sliding window, at most that many failures in any `window` seconds.
    Nothing is kept per key name alone: failures on a name from one address never throttle
    that name from another, so an attacker cannot lock its rightful user out. (Guesses spread
    over many addresses are bounded by the key store's verification budget instead.)

    Pure and clock-injected; at most `tracked_limit` addresses and as many pairs are kept.
    A limit of 0 throttles nothing.
    """

    def __init__(
        self,
        *,
        per_client: int,
        per_key: int,
        window: float,
        tracked_limit: int = THROTTLE_TRACKED_LIMIT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._per_client, self._per_key, self._window = per_client, per_key, window
        self._tracked_limit, self._clock = tracked_limit, clock
        # The times of the latest failures (at most the limit's number), least recently
        # failed first, so that what goes when full, or once quiet, is at the front.
        self._by_client: OrderedDict[str, deque[float]] = OrderedDict()
        self._by_pair: OrderedDict[tuple[str, bytes], deque[float]] = OrderedDict()

    @property
    def tracked(self) -> int:
        """Addresses and pairs remembered now."""
        return len(self._by_client) + len(self._by_pair)

    def retry_after(self, client: str, name: str) -> int | None:
        """Whole seconds until `client` may try `name` again; None: it may now."""
        now = self._clock()
        waits = [
            self._wait(self._by_client.get(client), self._per_client, now),
            self._wait(self._by_pair.get(_pair(client, name)), self._per_key, now),
        ]
        longest = max((w for w in waits if w is not None), default=None)
        return None if longest is None else max(1, math.ceil(longest))

    def failed(self, client: str, name: str) -> None:
        """Remember that `client` presented a credential for `name` that was refused."""
        now = self._clock()
        self._record(self._by_client, client, self._per_client, now)
        self._record(self._by_pair, _pair(client, name), self._per_key, now)

    def succeeded(self, client: str, name: str) -> None:
        """`client` presented the right credential for `name`: its failures on that name are
        forgiven (a typo is not held against it). Not those of the address: one key an
        attacker holds must not reset its guesses at the others."""
        self._by_pair.pop(_pair(client, name), None)

    def _wait(self, failures: deque[float] | None, limit: int, now: float) -> float | None:
        if not limit or failures is None or len(failures) < limit:
            return None
        wait = failures[0] + self._window - now
        return wait if wait > 0 else None

    def _record(
        self, table: OrderedDict[_K, deque[float]], key: _K, limit: int, now: float
    ) -> None:
        if not limit:
            return
        # What failed last over a window ago is forgotten; the front is the quietest.
        while table and table[next(iter(table))][-1] <= now - self._window:
            table.popitem(last=False)
        failures = table.get(key)
        if failures is None:
            if len(table) >= self._tracked_limit:
                table.popitem(last=False)
            failures = table[key] = deque(maxlen=limit)
        else:
            table.move_to_end(key)
        failures.append(now)


def _pair(client: str, name: str) -> tuple[str, bytes]:
    # A key name comes from the client and may be as long as a header: remembered by a digest
    # of fixed size, so that the memory a pair takes is bounded.
    return client, hashlib.blake2b(name.encode("utf-8", "replace"), digest_size=16).digest()


class _Verification:
    """One argon2 verification on its way, that requests with the same credential wait for."""

    __slots__ = ("done", "ok", "secret_hash")

    def __init__(self, secret_hash: str) -> None:
        self.secret_hash = secret_hash  # what it is verified against
        self.done = anyio.Event()
        self.ok: bool | None = None  # None: it failed (the budget was spent) or was cancelled


class KeyStore:
    """Reads keys from config-key, verifies credentials, and caches successful verifications."""

    def __init__(self, ceph: CephClient, settings: Settings) -> None:
        self._ceph = ceph
        self._settings = settings
        self._keys: dict[str, StoredKey] = {}
        self._loaded = False
        self._crypt = _crypt_context()
        # Verified against for unknown key names; its secret is thrown away at once.
        self._decoy_hash = self._crypt.hash(new_secret())
        # The cache is keyed by an HMAC under a per-process random key: what it holds can
        # confirm a credential already presented but cannot be used as one.
        self._cache_key = secrets.token_bytes(32)
        self._verified: dict[bytes, str] = {}
        # Verifications running, by the same digest: at most one per request in flight.
        self._verifying: dict[bytes, _Verification] = {}
        # Hashing is CPU-bound; a small limiter stops a flood of bad passwords taking all cores,
        # and the budget bounds the argon2 verifications a second (a cache hit needs none).
        self._hash_limiter = anyio.CapacityLimiter(2)
        rate = settings.auth_verifications_per_second
        self._verify_budget = TokenBucket(rate, max(1, math.ceil(rate)))
        self._verify_retry_after = max(1, math.ceil(1 / rate))  # when one is there again
        self.verifications_refused = 0  # requests the budget refused, for the metrics
        self.throttle = LoginThrottle(
            per_client=settings.auth_failures_per_client,
            per_key=settings.auth_failures_per_key,
            window=settings.auth_failure_window,
        )
        self._lookup_budget = TokenBucket(LOOKUPS_PER_SECOND, LOOKUP_BURST)
        # One lookup at a time: requests with the same new key wait for the first one's.
        self._lookup_lock = anyio.Lock()

    @property
    def loaded(self) -> bool:
        return self._loaded

    async def refresh(self) -> None:
        """Re-read every key from the cluster."""
        keys: dict[str, StoredKey] = {}
        if self._settings.legacy_keys:
            for k, v in (await config_key.dump(self._ceph, LEGACY_KEY_PREFIX)).items():
                name = k[len(LEGACY_KEY_PREFIX) :]
                keys[name] = StoredKey(name, Role.ADMIN, v, None, legacy=True)
        for k, v in (await config_key.dump(self._ceph, KEY_PREFIX)).items():
            stored = parse_stored_key(k[len(KEY_PREFIX) :], v)
            if stored is not None:
                keys[stored.name] = stored  # a cephgw key wins over a legacy one of the same name
        self._keys = keys
        self._loaded = True

    async def _look_up(self, name: str, seen: StoredKey | None) -> StoredKey | None:
        """The key `name` as config-key holds it now, for a credential the loaded keys refused.

        `seen` is what the loaded keys held; it is returned, unchanged, when the lookup budget
        is spent (or the name cannot be a key), so the credential is refused as before.
        """
        if not KEY_NAME_PATTERN.match(name):
            return seen
        async with self._lookup_lock:
            current = self._keys.get(name)
            if current != seen:  # a lookup or refresh meanwhile already found it changed
                return current
            if not self._lookup_budget.take():
                return seen
            fresh: StoredKey | None = None
            try:
                raw = await config_key.get(self._ceph, KEY_PREFIX + name)
                if raw is not None:
                    fresh = parse_stored_key(name, raw)
                elif self._settings.legacy_keys:
                    legacy = await config_key.get(self._ceph, LEGACY_KEY_PREFIX + name)
                    if legacy is not None:
                        fresh = StoredKey(name, Role.ADMIN, legacy, None, legacy=True)
            except GatewayError as exc:
                # A failed lookup (no cap for it, the mon away) refuses as the loaded keys did.
                log.warning("cannot look up key %r in config-key: %s", name, exc.message)
                return seen
            keys = {k: v for k, v in self._keys.items() if k != name}
            if fresh is not None:
                keys[name] = fresh
            self._keys = keys
            return fresh

    async def keep_refreshing(self) -> None:
        """Re-read keys forever, so a deleted or replaced key stops working quickly."""
        while True:
            try:
                if self._ceph.connected:
                    await self.refresh()
            except Exception as exc:  # a failed refresh keeps the last good keys
                log.warning("cannot refresh keys: %s", exc)
            await anyio.sleep(self._settings.key_refresh_interval)

    def list(self) -> list[StoredKey]:
        return sorted(self._keys.values(), key=lambda k: k.name)

    async def create(self, name: str, role: Role) -> str:
        """Store a new key and return its secret (shown once, never stored in clear)."""
        if not KEY_NAME_PATTERN.match(name):
            raise BadRequest(
                f"invalid key name {name!r}: use 1-64 letters, digits, '_', '.', '@' or '-'"
            )
        if await config_key.get(self._ceph, KEY_PREFIX + name) is not None:
            raise Conflict(f"key {name!r} already exists; delete it first")
        secret = new_secret()
        secret_hash = await anyio.to_thread.run_sync(
            self._crypt.hash, secret, limiter=self._hash_limiter
        )
        record = {
            "hash": secret_hash,
            "role": role.value,
            "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        }
        await config_key.put(self._ceph, KEY_PREFIX + name, json.dumps(record))
        await self.refresh()
        return secret

    async def delete(self, name: str) -> None:
        """Delete a key; a legacy key of the module is deleted where it lives, too."""
        for prefix in (KEY_PREFIX, LEGACY_KEY_PREFIX):
            if await config_key.get(self._ceph, prefix + name) is not None:
                await config_key.remove(self._ceph, prefix + name)
                await self.refresh()
                return
        raise NotFound(f"no key named {name!r}")

    async def authenticate(self, name: str, secret: str, client: str | None = None) -> Identity:
        """The identity behind a credential from `client` (its address); Unauthorized for
        anything else.

        TooManyRequests, before any verification, while the login throttle holds `client`
        (or `client` on `name`) back; ServiceUnavailable when the verifications of the last
        second spent the budget. A credential the loaded keys refuse is checked once more
        against that one key in config-key (within the lookup budget): a key made by
        `cephgw create-key` works on every running gateway at once, not only after the next
        refresh.
        """
        if not self._loaded:
            reason = self._ceph.last_connect_error or "keys not loaded yet"
            raise ServiceUnavailable(f"cluster unavailable: {reason}")
        client = client or UNKNOWN_CLIENT
        # Even a credential verified before is refused meanwhile: were a right one let
        # through, the 429s and that 200 would tell a throttled guesser which guess was right.
        retry_after = self.throttle.retry_after(client, name)
        if retry_after is not None:
            raise TooManyRequests(
                f"Too many failed authentications from this client; retry in {retry_after} s",
                retry_after,
            )
        try:
            identity = await self._identify(name, secret)
        except Unauthorized:
            self.throttle.failed(client, name)
            raise
        self.throttle.succeeded(client, name)
        return identity

    async def _identify(self, name: str, secret: str) -> Identity:
        stored = self._keys.get(name)
        if await self._matches(name, secret, stored):
            assert stored is not None
            return Identity(name, stored.role)
        fresh = await self._look_up(name, stored)
        if fresh is not None and fresh != stored and await self._matches(name, secret, fresh):
            return Identity(name, fresh.role)
        raise Unauthorized("Invalid credentials")

    async def _matches(self, name: str, secret: str, stored: StoredKey | None) -> bool:
        if stored is None:
            # The same argon2 work as a wrong key, so timing does not reveal which names exist.
            await self._verify(secret, self._decoy_hash)
            return False
        if stored.legacy:
            return hmac.compare_digest(secret.encode(), stored.secret_hash.encode())
        digest = hmac.new(self._cache_key, f"{name}\0{secret}".encode(), hashlib.sha256).digest()
        if self._cached(digest, stored):
            return True
        # The same credential already being verified (clients started at once with one key):
        # its answer, not one more argon2 run of the budget.
        pending = self._verifying.get(digest)
        if pending is not None:
            await pending.done.wait()
            if pending.ok is not None and pending.secret_hash == stored.secret_hash:
                return pending.ok
            if self._cached(digest, stored):
                return True
        verification = self._verifying[digest] = _Verification(stored.secret_hash)
        try:
            verification.ok = await self._verify(secret, stored.secret_hash)
        finally:
            if self._verifying.get(digest) is verification:
                del self._verifying[digest]
            verification.done.set()
        if verification.ok:
            if len(self._verified) >= _CACHE_LIMIT:
                self._verified.clear()
            self._verified[digest] = stored.secret_hash
        return verification.ok

    def _cached(self, digest: bytes, stored: StoredKey) -> bool:
        cached_hash = self._verified.get(digest)
        # A cache hit only counts while the stored hash is the one it was verified against.
        return cached_hash is not None and hmac.compare_digest(cached_hash, stored.secret_hash)

    async def _verify(self, secret: str, secret_hash: str) -> bool:
        """One argon2 verification, within the budget: past it, 503 before any work, so that
        guesses from however many addresses cost at most that much CPU a second."""
        if not self._verify_budget.take():
            self.verifications_refused += 1
            raise ServiceUnavailable(
                "Too many key verifications at once; retry shortly", self._verify_retry_after
            )
        ok: bool = await anyio.to_thread.run_sync(
            self._crypt.verify, secret, secret_hash, limiter=self._hash_limiter
        )
        return ok


class BasicAuth(HTTPBasic):
    """HTTP Basic declared in the OpenAPI; parses UTF-8 and `:` in passwords itself."""

    async def __call__(self, request: Request) -> tuple[str, str] | None:  # type: ignore[override]
        header = request.headers.get("authorization")
        if not header:
            return None
        scheme, _, param = header.partition(" ")
        if scheme.lower() != "basic":
            raise Unauthorized("Only HTTP Basic authentication is supported")
        try:
            decoded = base64.b64decode(param.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise Unauthorized("Malformed HTTP Basic credentials") from exc
        name, sep, secret = decoded.partition(":")  # the key itself may contain ':'
        if not sep:
            raise Unauthorized("Malformed HTTP Basic credentials")
        return name, secret


basic_auth = BasicAuth(
    auto_error=False, realm="cephgw", description="user = key name, password = key"
)


def require_role(identity: Identity, role: Role) -> Identity:
    if role is Role.ADMIN and identity.role is not Role.ADMIN:
        raise Forbidden(f"key {identity.name!r} is read-only; this needs an admin key")
    return identity
