"""HAProxy in front of gateways, as docs/deploy.md deploys it: TLS passed through to each
gateway, round robin by connection, /readyz as the health check.

`haproxy_config` is the configuration docs/deploy.md shows (a unit test keeps the two the
same), with the addresses and the check interval filled in.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from tests.support.server import stop_server

HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"


def haproxy_config(
    listen: str,
    gateways: Sequence[tuple[str, str]],
    *,
    check_interval: str = "2s",
    stats_socket: Path | None = None,
) -> str:
    """One frontend on `listen`, one backend of `gateways` ((name, host:port) each); with
    `stats_socket`, HAProxy's runtime API there (the tests read the servers' states)."""
    servers = "".join(
        f"    server {name} {address} check check-ssl verify none inter {check_interval}"
        " fall 2 rise 2\n"
        for name, address in gateways
    )
    return (
        "global\n"
        "    log stdout format raw local0\n"
        + (f"    stats socket {stats_socket} level operator\n" if stats_socket else "")
        + "\n"
        "defaults\n"
        "    mode tcp\n"
        "    log global\n"
        "    timeout connect 5s\n"
        "    timeout client 90s\n"
        "    timeout server 90s\n"
        "\n"
        "frontend cephgw\n"
        f"    bind {listen}\n"
        "    default_backend cephgw\n"
        "\n"
        "backend cephgw\n"
        "    balance roundrobin\n"
        "    option httpchk GET /readyz\n"
        "    http-check expect status 200\n"
        "    # A connection to a gateway that stopped is retried on another one.\n"
        "    option redispatch\n"
        "    retries 2\n"
        f"{servers}"
    )


@contextmanager
def run_haproxy(config: str, workdir: Path) -> Iterator[subprocess.Popen[str]]:
    """HAProxy in the foreground with `config`, checked first; its log in workdir."""
    path = workdir / "haproxy.cfg"
    path.write_text(config)
    checked = subprocess.run(
        [HAPROXY, "-c", "-f", str(path)], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    log = (workdir / "haproxy.log").open("w")
    proc = subprocess.Popen(
        [HAPROXY, "-db", "-f", str(path)], stdout=log, stderr=subprocess.STDOUT, text=True
    )
    try:
        yield proc
    finally:
        stop_server(proc)
        log.close()


def server_states(stats_socket: Path) -> dict[str, str]:
    """Each backend server's state as HAProxy's health checks see it ("UP", "DOWN", ...)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.connect(str(stats_socket))
        conn.sendall(b"show stat\n")
        text = b"".join(iter(lambda: conn.recv(65536), b"")).decode()
    rows = [line.split(",") for line in text.splitlines() if line and not line.startswith("#")]
    # CSV of `show stat`: pxname, svname, ... status is field 18 (0-based 17).
    return {
        row[1]: row[17]
        for row in rows
        if row[0] == "cephgw" and row[1] not in ("FRONTEND", "BACKEND")
    }
