"""Pure parts of the key store."""

from __future__ import annotations

import json

from app.auth import KEY_NAME_PATTERN, Role, new_secret, parse_stored_key


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
