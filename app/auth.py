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
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

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
    Unauthorized,
)
from app.settings import Settings

log = logging.getLogger(__name__)

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


class LookupBudget:
    """A token bucket: `rate` lookups a second on average, `burst` at once."""

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
        # Hashing is CPU-bound; a small limiter stops a flood of bad passwords taking all cores.
        self._hash_limiter = anyio.CapacityLimiter(2)
        self._lookup_budget = LookupBudget(LOOKUPS_PER_SECOND, LOOKUP_BURST)
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

    async def authenticate(self, name: str, secret: str) -> Identity:
        """The identity behind a credential; Unauthorized for anything else.

        A credential the loaded keys refuse is checked once more against that one key in
        config-key (within the lookup budget): a key made by `cephgw create-key` works on
        every running gateway at once, not only after the next refresh.
        """
        if not self._loaded:
            reason = self._ceph.last_connect_error or "keys not loaded yet"
            raise ServiceUnavailable(f"cluster unavailable: {reason}")
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
            await anyio.to_thread.run_sync(
                self._crypt.verify, secret, self._decoy_hash, limiter=self._hash_limiter
            )
            return False
        if stored.legacy:
            return hmac.compare_digest(secret.encode(), stored.secret_hash.encode())
        digest = hmac.new(self._cache_key, f"{name}\0{secret}".encode(), hashlib.sha256).digest()
        cached_hash = self._verified.get(digest)
        # A cache hit only counts while the stored hash is the one it was verified against.
        if cached_hash is not None and hmac.compare_digest(cached_hash, stored.secret_hash):
            return True
        ok: bool = await anyio.to_thread.run_sync(
            self._crypt.verify, secret, stored.secret_hash, limiter=self._hash_limiter
        )
        if ok:
            if len(self._verified) >= _CACHE_LIMIT:
                self._verified.clear()
            self._verified[digest] = stored.secret_hash
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
