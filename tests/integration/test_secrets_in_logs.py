"""No secret in any log: every endpoint once, with debug logging on, against `cephgw serve`.

Secrets are an API key (as made by `cephgw create-key`, and as HTTP Basic sends it), its
argon2 hash in config-key, and the TLS private key the gateway serves with. The logs are
everything the gateway printed (the access log, the audit, its debug messages) and
everything the cluster wrote meanwhile: its daemons' log files and the cluster log (`ceph
log last`, audit channel too).
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from cli.dev_cluster import DevCluster
from tests.integration.differential import READ_PATHS
from tests.support import TEST_POOL
from tests.support.cluster import ceph_cli
from tests.support.jobs import OSD_STAT
from tests.support.server import (
    Gateway,
    cephgw,
    free_port,
    self_signed_certificate,
    serving_process,
    wait_serving,
)

pytestmark = pytest.mark.integration

MGR_NAME = "secrets"
KEY_NAME = "secrets-probe"


def secret_fragments(secret: str, key_hash: str, tls_key_pem: str) -> dict[str, str]:
    """What must appear nowhere: each secret whole, and the private key's base64 lines (a
    log could hold a line of it without the PEM armour)."""
    basic = base64.b64encode(f"{KEY_NAME}:{secret}".encode()).decode()
    fragments = {"the key": secret, "the Basic credentials": basic, "the key's hash": key_hash}
    body = [line for line in tls_key_pem.splitlines() if line and not line.startswith("-----")]
    for n, line in enumerate(body):
        if len(line) >= 32:
            fragments[f"line {n + 1} of the TLS private key"] = line
    # The hash without its parameters ($argon2id$v=19$m=...,t=...,p=...$salt$digest).
    fragments["the key hash's digest"] = key_hash.rsplit("$", 1)[-1]
    return fragments


def every_endpoint(http: httpx.Client, auth: tuple[str, str]) -> None:
    """Each read path, the job endpoints, a write of each resource, and failed logins."""
    for template in READ_PATHS:
        path = template.replace("{pool}", TEST_POOL).replace("{host}", "no-such-host")
        http.get(path, auth=auth)
    for path in ("/perf", "/perf?daemon=osd.0", "/metrics", "/readyz", "/healthz"):
        http.get(path, auth=auth)
    job = http.post("/request?wait=1", json=OSD_STAT, auth=auth).json()
    http.get(f"/request/{job['id']}", auth=auth)
    http.get("/request", auth=auth)
    http.delete(f"/request/{job['id']}", auth=auth)
    http.delete("/request", auth=auth)
    http.patch("/config/osd?wait=1", json={"noscrub": False}, auth=auth)
    pool = the_test_pool(http, auth)  # its size set to what it is: a job that changes nothing
    http.patch(f"/pool/{pool['pool']}?wait=1", json={"size": pool["size"]}, auth=auth)
    http.patch("/osd/0?wait=1", json={"in": True}, auth=auth)
    http.post("/osd/0/command?wait=1", json={"command": "scrub"}, auth=auth)
    # Refused: a wrong secret for the right name, a denied command.
    http.get("/pool", auth=(KEY_NAME, "not-the-secret"))
    http.post("/request", json={"prefix": "auth get", "entity": "client.admin"}, auth=auth)


def the_test_pool(http: httpx.Client, auth: tuple[str, str]) -> dict[str, Any]:
    pools = http.get("/pool", auth=auth).json()
    pool: dict[str, Any] = next(p for p in pools if p["pool_name"] == TEST_POOL)
    return pool


def cluster_logs(cluster: DevCluster) -> dict[str, str]:
    """What the cluster wrote: its log files, and its cluster log (every channel)."""
    logs = {
        str(path): path.read_text(errors="replace")
        for path in sorted((cluster.directory / "log").glob("*"))
        if path.is_file()
    }
    for channel in ("cluster", "audit"):
        logs[f"ceph log last ({channel})"] = ceph_cli(
            cluster, "log", "last", "10000", "debug", channel
        )
    return logs


def test_no_secret_reaches_any_log_with_debug_logging(cluster: DevCluster, tmp_path: Path) -> None:
    made = cephgw(cluster, "create-key", KEY_NAME)
    assert made.returncode == 0, made.stderr
    secret = made.stdout.strip()
    auth = (KEY_NAME, secret)
    key_hash = json.loads(ceph_cli(cluster, "config-key", "get", f"cephgw/keys/{KEY_NAME}"))["hash"]
    try:
        log = tmp_path / "serve.log"
        with self_signed_certificate(cluster, MGR_NAME) as cert_pem:
            tls_key_pem = ceph_cli(cluster, "config-key", "get", f"mgr/restful/{MGR_NAME}/key")
            port = free_port()
            env = {"CEPHGW_LOG_LEVEL": "debug"}
            with serving_process(cluster, MGR_NAME, port, log, env=env) as proc:
                gateway = Gateway(f"https://127.0.0.1:{port}", cert_pem, log, proc.pid)
                wait_serving(proc, gateway, auth)
                with httpx.Client(
                    base_url=gateway.url, verify=gateway.ssl_context(), timeout=60
                ) as http:
                    every_endpoint(http, auth)
        logs = {"cephgw serve's output": log.read_text(errors="replace"), **cluster_logs(cluster)}
        # Debug logging was on, and the requests were logged: the search had something to read.
        assert re.search(r"\bDEBUG\b", logs["cephgw serve's output"])
        assert f'"key":"{KEY_NAME}"' in logs["cephgw serve's output"].replace(" ", "")
        found = [
            f"{what} in {where}"
            for what, fragment in secret_fragments(secret, key_hash, tls_key_pem).items()
            for where, text in logs.items()
            if fragment in text
        ]
        assert not found, found
    finally:
        cephgw(cluster, "delete-key", KEY_NAME)
