"""Settings of one gateway process: CLI flags override env (CEPHGW_*), which override defaults."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.ceph.commands import DEFAULT_DENIED_COMMANDS, parse_deny_list


def _default_conf() -> Path | None:
    # Ceph's own tools honour CEPH_CONF; an operator expects the gateway to as well.
    env = os.environ.get("CEPH_CONF")
    return Path(env) if env else None


ServerName = Literal["granian", "uvicorn"]


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
        description="Seconds one librados call may take (mon and osd op timeout) before a 504.",
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
            "keeps, refreshed once older (cheaply: the OSD map epoch is checked first). 0: "
            "every read goes to the cluster."
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

    @field_validator("request_deny")
    @classmethod
    def _parsable_deny_entries(cls, entries: list[str]) -> list[str]:
        parse_deny_list(entries)  # a bad entry stops the gateway at start, not at a POST
        return entries
