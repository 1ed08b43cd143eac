"""The audit of the real app: a JSON line for every write, and its entry in the cluster log
(as `ceph log last` shows it), never a secret."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.audit import CLUSTER_LOG_TAG, LOGGER_NAME
from app.settings import Settings
from cli.dev_cluster import DevCluster
from tests.support import ask_until, json_log_lines
from tests.support.cluster import ceph_cli, ceph_cli_json
from tests.support.server import gateway

pytestmark = pytest.mark.integration

FIELDS = {"time", "key", "role", "client", "method", "path", "status", "job_id", "job_state"}


def _lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    return json_log_lines(caplog, LOGGER_NAME)


def _cluster_log_entries(cluster: DevCluster) -> list[dict[str, Any]]:
    """The audit's lines among the cluster log's latest entries, as Ceph's CLI shows them
    (an entry has one line per request), each with its entry under `_entry`."""
    return [
        {**json.loads(line.removeprefix(CLUSTER_LOG_TAG)), "_entry": e}
        for e in ceph_cli_json(cluster, "log", "last", "200")
        for line in e["message"].split("\n")
        if line.startswith(CLUSTER_LOG_TAG)
    ]


def _cluster_log_entry(cluster: DevCluster, field: str, value: str) -> dict[str, Any]:
    """The cluster log's audit entry whose `field` is `value` (a job id, a path no other
    request used), once it arrived."""
    found = ask_until(
        lambda: [e for e in _cluster_log_entries(cluster) if e[field] == value],
        bool,
        f"`ceph log last` shows the audit with {field} {value}",
        limit=20,
        interval=0.5,
    )
    [entry] = found
    return entry


def test_a_write_is_audited_in_one_line_and_in_the_cluster_log(
    client: TestClient,
    admin_auth: tuple[str, str],
    cluster: DevCluster,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER_NAME)
    r = client.patch("/osd/0?wait=1", json={"reweight": 1}, auth=admin_auth)
    assert r.status_code == 200, r.text
    job = r.json()
    assert job["state"] == "success"
    [line] = _lines(caplog)
    assert set(line) == FIELDS
    assert line["time"].endswith("Z")
    assert line == {
        "time": line["time"],
        "key": admin_auth[0],
        "role": "admin",
        "client": "testclient",  # TestClient's peer address
        "method": "PATCH",
        "path": "/osd/0",
        "status": 200,
        "job_id": job["id"],
        "job_state": "success",
    }
    assert admin_auth[1] not in caplog.text
    entry = _cluster_log_entry(cluster, "job_id", job["id"])
    assert {k: v for k, v in entry.items() if k != "_entry"} == line
    assert entry["_entry"]["channel"] == "cluster"
    assert entry["_entry"]["priority"] == "[INF]"
    assert admin_auth[1] not in json.dumps(entry)


def test_a_write_not_waited_for_names_its_job_but_no_state(
    client: TestClient, admin_auth: tuple[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER_NAME)
    r = client.post("/request", json={"prefix": "osd stat"}, auth=admin_auth)
    assert r.status_code == 200, r.text
    [line] = _lines(caplog)
    assert (line["method"], line["path"], line["status"]) == ("POST", "/request", 200)
    assert (line["job_id"], line["job_state"]) == (r.json()["id"], None)


def test_a_write_without_a_valid_key_is_audited_but_not_in_the_cluster_log(
    client: TestClient,
    admin_auth: tuple[str, str],
    read_only_auth: tuple[str, str],
    cluster: DevCluster,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER_NAME)
    refused = f"/request/audit-refused-{uuid.uuid4()}"
    forbidden = f"/request/audit-forbidden-{uuid.uuid4()}"
    allowed = f"/request/audit-allowed-{uuid.uuid4()}"
    wrong_secret = admin_auth[1] + "-wrong"
    assert client.delete(refused, auth=(admin_auth[0], wrong_secret)).status_code == 401
    assert client.delete(forbidden, auth=read_only_auth).status_code == 403
    r = client.delete(allowed, auth=admin_auth)
    assert r.status_code == 404, r.text
    lines = _lines(caplog)
    assert [(line["path"], line["key"], line["role"], line["status"]) for line in lines] == [
        (refused, None, None, 401),
        (forbidden, read_only_auth[0], "read-only", 403),
        (allowed, admin_auth[0], "admin", 404),
    ]
    assert all(line["job_id"] is None for line in lines)
    assert wrong_secret not in caplog.text
    assert read_only_auth[1] not in caplog.text
    # Entries reach the cluster log in order: once the last is there, the others would be.
    _cluster_log_entry(cluster, "path", allowed)
    paths = [e["path"] for e in _cluster_log_entries(cluster)]
    assert refused not in paths
    assert forbidden in paths
    assert not any(wrong_secret in e["_entry"]["message"] for e in _cluster_log_entries(cluster))


def test_reads_are_not_audited(
    client: TestClient, admin_auth: tuple[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER_NAME)
    assert client.get("/request", auth=admin_auth).status_code == 200
    assert _lines(caplog) == []


def test_the_audit_can_be_turned_off(
    settings: Settings, admin_auth: tuple[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER_NAME)
    with gateway(settings, admin_auth, audit=False) as quiet:
        r = quiet.post("/request", json={"prefix": "osd stat"}, auth=admin_auth)
        assert r.status_code == 200, r.text
    assert _lines(caplog) == []


@pytest.fixture
def user_without_log_cap(cluster: DevCluster, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A cephx user that reads the keys and may run `osd stat`, but not `log`."""
    name, keyring = "client.cephgw-no-log", tmp_path / "keyring"
    caps = 'allow r, allow command "config-key dump", allow command "config-key get"'
    ceph_cli(cluster, "auth", "get-or-create", name, "mon", caps, "-o", str(keyring))
    try:
        yield name, keyring
    finally:
        ceph_cli(cluster, "auth", "rm", name)


def test_a_failed_cluster_log_write_fails_no_request(
    settings: Settings,
    admin_auth: tuple[str, str],
    user_without_log_cap: tuple[str, Path],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER_NAME)
    name, keyring = user_without_log_cap
    with gateway(settings, admin_auth, name=name, keyring=keyring) as refused:
        for _ in range(2):
            r = refused.post("/request?wait=1", json={"prefix": "osd stat"}, auth=admin_auth)
            assert r.status_code == 200, r.text
            assert r.json()["state"] == "success"
        assert [line["job_state"] for line in _lines(caplog)] == ["success", "success"]
        series = 'cephgw_audit_cluster_log_failures_total{reason="failed"} '
        ask_until(
            lambda: refused.get("/metrics", auth=admin_auth).text,
            lambda text: f"{series}2.0" in text,
            "both entries are counted as failed",
            limit=20,
            show=lambda text: [x for x in text.splitlines() if "audit" in x],
        )
    warned = [r for r in caplog.records if "cannot write the audit" in r.getMessage()]
    assert len(warned) == 1
    assert "access denied" in warned[0].getMessage().lower()
