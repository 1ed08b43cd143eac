"""Settings of one gateway process: CLI flags override env (CEPHGW_*), which override defaults."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.ceph.commands import DEFAULT_DENIED_COMMANDS, parse_deny_list


def _default_conf() -> Path | None:
    # Ceph's own tools honour CEPH_CONF; an operator expects the gateway to as well.
    env = os.environ.get("CEPH_CONF")
    return Path(env) if env else None


ServerName = Literal["granian", "uvicorn"]
JobStoreName = Literal["memory", "rados"]


class Settings(BaseSettings):
    """Everything a gateway process reads at start; every field is also an env var."""

    model_config = SettingsConfigDict(env_prefix="CEPHGW_", extra="ignore")

    conf: Path | None = Field(
        default_factory=_default_conf,
        description="ceph.conf to read (default: $CEPH_CONF, then librados' own search path).",
    )
    name: str = Field(default="client.admin", description="Cephx user the gateway connects as.")
    keyring: Path | None = Field(
        default=None, description="Keyring of that user (default: what ceph.conf says)."
    )
    mgr_name: str | None = Field(
        default=None,
        description=(
            "Name of the mgr this gateway runs beside; selects the per-daemon "
            "mgr/restful/<name>/... certificate and address settings, as the module did."
        ),
    )
    addr: str | None = Field(
        default=None,
        description="Listen address (default: mgr/restful/server_addr in the cluster, then '::').",
    )
    port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        description="Listen port (default: mgr/restful/server_port in the cluster, then 8003).",
    )
    cert_file: Path | None = Field(
        default=None,
        description="PEM certificate file; overrides the certificate stored in config-key.",
    )
    key_file: Path | None = Field(
        default=None, description="PEM private key file matching cert_file."
    )
    insecure_http: bool = Field(
        default=False,
        description="Serve plain HTTP (only behind a TLS-terminating proxy or for local work).",
    )
    legacy_keys: bool = Field(
        default=True,
        description=(
            "Accept the restful module's plaintext keys (mgr/restful/keys/<name>) as admin keys."
        ),
    )
    ceph_timeout: float = Field(
        default=30.0,
        gt=0,
        description=(
            "Seconds one librados call may take (mon and osd op timeout; for the mgr's commands "
            "the gateway's own deadline) before a 504."
        ),
    )
    connect_timeout: float = Field(
        default=5.0, gt=0, description="Seconds one attempt to connect to the cluster may take."
    )
    reconnect_interval: float = Field(
        default=2.0, gt=0, description="Seconds between attempts to reach an unreachable cluster."
    )
    ceph_threads: int = Field(
        default=16,
        ge=1,
        description="Threads that may block in librados at once; further calls queue.",
    )
    cache_max_age: float = Field(
        default=1.0,
        ge=0,
        description=(
            "Seconds an answer may be old: reads are served from the cluster maps the gateway "
            "keeps, refreshed once older (cheaply: the OSD map epoch is checked first), and a "
            "command a job runs that only reads (POST /request `osd stat`) from the same "
            "command's last answer; a write through the gateway (with the rados job store: "
            "through any gateway) forgets both. 0: every read goes to the cluster."
        ),
    )
    cache_stale_after: float = Field(
        default=1.0,
        gt=0,
        description=(
            "Seconds a read waits for a refresh; past it the read is answered from the last "
            'maps known, with `Warning: 110 - "Response is Stale"`, or 503 when none is '
            "known yet."
        ),
    )
    key_refresh_interval: float = Field(
        default=2.0,
        gt=0,
        description=(
            "Seconds between re-reads of the key store; a deleted or replaced key stops "
            "working within this time."
        ),
    )
    tls_reload_interval: float = Field(
        default=2.0,
        gt=0,
        description=(
            "Seconds between re-reads of the TLS certificate's source (config-key, or "
            "cert_file and key_file); a replaced certificate is served within this time and "
            "the server's switch to it (about a second more under granian)."
        ),
    )
    auth_failures_per_client: int = Field(
        default=20,
        ge=0,
        description=(
            "Failed authentications one client address may make in auth_failure_window "
            "seconds; past it, its requests are answered 429 with Retry-After, before any key "
            "is verified. 0: no limit."
        ),
    )
    auth_failures_per_key: int = Field(
        default=5,
        ge=0,
        description=(
            "Failed authentications one client address may make on one key name in "
            "auth_failure_window seconds; past it, 429 for that name from that address only "
            "(the same key from another address still works). 0: no limit."
        ),
    )
    auth_failure_window: float = Field(
        default=60.0,
        gt=0,
        description="Seconds a failed authentication counts against its client address.",
    )
    auth_verifications_per_second: float = Field(
        default=20.0,
        gt=0,
        description=(
            "Argon2 verifications of keys (a key is verified once, then cached) the gateway "
            "makes a second at most, from all clients; past it, 503 with Retry-After. Bounds "
            "the CPU that wrong keys from many addresses can take."
        ),
    )
    audit: bool = Field(
        default=True,
        description=(
            "Audit every POST, PATCH, PUT and DELETE: one JSON line (logger cephgw.audit: "
            "time, key, role, client, method, path, status, job_id, job_state) and, for a "
            "request made with a valid key, an entry in the Ceph cluster log (audit_cluster_log)."
        ),
    )
    audit_file: Path | None = Field(
        default=None,
        description=(
            "File the audit's JSON lines are appended to (default: standard output, with the "
            "access log's)."
        ),
    )
    audit_cluster_log: bool = Field(
        default=True,
        description=(
            "Also write each audited request made with a valid key to the Ceph cluster log "
            "(`ceph log last`; needs the mon `allow rw` cap). Written in the background: a "
            "failed write is counted in metrics, never fails the request."
        ),
    )
    log_level: str = Field(
        default="info", description="Log level of the gateway and of its HTTP server."
    )
    server: ServerName = Field(
        default="granian",
        description=(
            "HTTP server: granian (Rust, its own TLS; the faster in `make bench`) or uvicorn "
            "(Python's TLS, one process). Both serve the same app the same way."
        ),
    )
    workers: int = Field(
        default=1,
        ge=1,
        description=(
            "Worker processes serving on the one port (granian only). More than one needs "
            "job_store=rados: each worker is a gateway of its own, with its own job table."
        ),
    )
    job_store: JobStoreName = Field(
        default="memory",
        description=(
            "Where job records live: memory (this process only) or rados (an object of "
            "job_store_pool, shared by every gateway of the cluster: any of them answers "
            "/request for every job)."
        ),
    )
    job_store_pool: str = Field(
        default="cephgw",
        min_length=1,
        description="Pool of the rados job store; made (one PG) when missing.",
    )
    job_store_namespace: str = Field(
        default="jobs",
        description="RADOS namespace of the rados job store in job_store_pool.",
    )
    job_store_timeout: float = Field(
        default=5.0,
        gt=0,
        description=(
            "Seconds one operation of the rados job store may take; past it the store is "
            "taken as unavailable (a paused or full cluster) and jobs run unrecorded, known "
            "to their gateway only, until it answers again."
        ),
    )
    job_lease: float = Field(
        default=30.0,
        gt=0,
        description=(
            "With job_store=rados: seconds a running job's record stays its gateway's "
            "without being renewed (every third of it); past it another gateway ends the "
            "job as failed (its gateway stopped)."
        ),
    )
    gateway_name: str = Field(
        default="",
        description=(
            "This gateway's name in job records and their messages (default: host name "
            "and process id)."
        ),
    )
    max_body_bytes: int = Field(
        default=1024 * 1024,
        gt=0,
        description=(
            "Bytes a request body may have; a larger one is answered 413 without being read "
            "(at once when its Content-Length says so, else once that many bytes came)."
        ),
    )
    job_wait_timeout: float = Field(
        default=60.0,
        gt=0,
        description=(
            "Seconds a write with ?wait=1 blocks for its job; past it the job is answered "
            "as it stands, with 202."
        ),
    )
    job_ttl: float = Field(
        default=3600.0,
        ge=0,
        description="Seconds a finished job is kept (for GET /request) after it finished.",
    )
    job_max_finished: int = Field(
        default=10_000,
        ge=0,
        description="Finished jobs kept at most; past it the oldest finished go first.",
    )
    job_max_output_bytes: int = Field(
        default=256 * 1024 * 1024,
        ge=0,
        description=(
            "Bytes of command output (outb + outs) the finished jobs may hold together; past "
            "it the oldest finished jobs go first."
        ),
    )
    job_max_running: int = Field(
        default=10_000,
        ge=1,
        description="Unfinished jobs at most; a write past it is refused with 503.",
    )
    job_command_concurrency: int = Field(
        default=8,
        ge=1,
        description=(
            "Job commands that may run at once (of ceph_threads), so that a burst of writes "
            "leaves threads for reads; further commands queue."
        ),
    )
    job_shutdown_grace: float = Field(
        default=10.0,
        ge=0,
        description=(
            "Seconds a shutting-down gateway lets running jobs finish (taking no new ones) "
            "before it cancels what is left."
        ),
    )
    metrics_public: bool = Field(
        default=False,
        description=(
            "Serve GET /metrics without a key (for a Prometheus that cannot send one); by "
            "default it needs an admin or read-only key."
        ),
    )
    readiness_timeout: float = Field(
        default=5.0,
        gt=0,
        description=(
            "Seconds GET /readyz waits for the cheap mon command that proves the cluster "
            "answers; past it the gateway reports itself not ready."
        ),
    )
    request_deny: list[str] = Field(
        default=list(DEFAULT_DENIED_COMMANDS),
        description=(
            "Commands POST /request refuses with 403. An entry is a command-prefix glob "
            "('auth get-or-create*'), optionally followed by arg=PREFIX, which then must "
            "overlap the argument's value ('config-key get key=cephgw/keys/'; a missing "
            "argument overlaps everything). Default: the commands that hand out secrets."
        ),
    )

    @model_validator(mode="after")
    def _workers_share_their_jobs(self) -> Settings:
        if self.workers > 1 and self.job_store == "memory":
            raise ValueError(
                f"{self.workers} workers need job_store=rados (--job-store rados): with "
                "memory each worker would know only its own jobs"
            )
        if self.workers > 1 and self.server != "granian":
            raise ValueError("more than one worker needs server=granian")
        return self

    @field_validator("request_deny")
    @classmethod
    def _parsable_deny_entries(cls, entries: list[str]) -> list[str]:
        parse_deny_list(entries)  # a bad entry stops the gateway at start, not at a POST
        return entries
