"""Running wrk (https load with --latency) and reading what it prints.

A run's figures come from wrk's own report: `Requests/sec:`, the 50% and 99% lines of
`Latency Distribution`, `Socket errors: connect N, read N, write N, timeout N` and
`Non-2xx or 3xx responses: N` (wrk prints the last two only when they are not zero). A POST
is sent by a small Lua script, which also counts the status codes it saw, so that a 202 (a
`?wait=1` job that did not finish in time) shows up as well as an error does.

wrk's latency of a request starts once its connection is up: a server that closes every
connection (the restful module: HTTP/1.0, Connection: close) pays a TCP and TLS handshake per
request, which shows in requests/s but not in p50/p99.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}
_TIME = r"([\d.]+)(us|ms|s|m|h)"

# Counts the status of every answer in each thread and prints the sum once wrk is done
# (`parse_wrk` reads it back as `statuses`): the end of every script here, whose `init` sets
# `statuses = {}`.
STATUS_COUNTER = """\
local threads = {}
function setup(thread) table.insert(threads, thread) end
function response(status, headers, body) statuses[status] = (statuses[status] or 0) + 1 end
function done(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do
      total[status] = (total[status] or 0) + count
    end
  end
  for status, count in pairs(total) do
    io.write(string.format("status %d: %d\\n", status, count))
  end
end
"""

_POST_SCRIPT = """\
wrk.method = "POST"
wrk.body = [==[{body}]==]
wrk.headers["Content-Type"] = "application/json"
function init(args) statuses = {{}} end
"""


def wrk_version() -> str | None:
    """wrk's version line, None when it is not installed."""
    if shutil.which("wrk") is None:
        return None
    # wrk has no --version that exits 0; its usage text starts with the version.
    out = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)
    first = (out.stdout or out.stderr).strip().splitlines()
    return first[0] if first else "wrk"


def post_script(directory: Path, name: str, body: str) -> Path:
    """A Lua script that POSTs `body` (JSON) and counts the statuses."""
    if "]==]" in body:
        raise ValueError("the body cannot hold ]==]")
    path = directory / f"{name}.lua"
    path.write_text(_POST_SCRIPT.format(body=body) + STATUS_COUNTER)
    return path


@dataclass(frozen=True)
class WrkResult:
    """One wrk run, as wrk reported it."""

    connections: int
    threads: int
    duration: float
    requests: int
    rps: float
    p50_ms: float | None
    p99_ms: float | None
    socket_errors: dict[str, int] = field(default_factory=dict)  # connect, read, write, timeout
    non_2xx_3xx: int = 0
    statuses: dict[int, int] = field(default_factory=dict)  # from the POST script
    returncode: int = 0
    output: str = ""

    @property
    def problems(self) -> list[str]:
        """What went wrong in this run, in words; empty for a clean run."""
        out: list[str] = []
        if self.returncode != 0:
            out.append(f"wrk exited with {self.returncode}")
        if self.requests == 0:
            out.append("no request completed")
        out += [f"{n} socket {kind} errors" for kind, n in self.socket_errors.items() if n]
        if self.non_2xx_3xx:
            out.append(f"{self.non_2xx_3xx} answers with a status >= 400")
        # From the POST script: anything but 200, a 202 too (a job that did not finish).
        out += [f"{n} answers {s}" for s, n in sorted(self.statuses.items()) if s != 200]
        return out

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("output")
        data["problems"] = self.problems
        return data


def _ms(value: str, unit: str) -> float:
    return float(value) * _UNITS[unit]


def parse_wrk(output: str) -> dict[str, Any]:
    """The figures of wrk's report (see the module's doc); absent ones are None or zero."""
    figures: dict[str, Any] = {
        "requests": 0,
        "rps": 0.0,
        "p50_ms": None,
        "p99_ms": None,
        "socket_errors": {},
        "non_2xx_3xx": 0,
        "statuses": {},
    }
    if m := re.search(r"^\s*(\d+) requests in ", output, re.M):
        figures["requests"] = int(m[1])
    if m := re.search(r"^Requests/sec:\s+([\d.]+)", output, re.M):
        figures["rps"] = float(m[1])
    for percent, key in (("50", "p50_ms"), ("99", "p99_ms")):
        if m := re.search(rf"^\s+{percent}%\s+{_TIME}\s*$", output, re.M):
            figures[key] = _ms(m[1], m[2])
    if m := re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    ):
        figures["socket_errors"] = dict(
            zip(("connect", "read", "write", "timeout"), map(int, m.groups()), strict=True)
        )
    if m := re.search(r"Non-2xx or 3xx responses: (\d+)", output):
        figures["non_2xx_3xx"] = int(m[1])
    figures["statuses"] = {
        int(s): int(n) for s, n in re.findall(r"^status (\d+): (\d+)$", output, re.M)
    }
    return figures


def run_wrk(
    url: str,
    authorization: str,
    connections: int,
    duration: float,
    *,
    timeout: float = 60.0,
    script: Path | None = None,
) -> WrkResult:
    """wrk on `url` with `connections` connections (at most 2 threads; wrk wants no more
    threads than connections) for `duration` seconds; a request may take `timeout` s."""
    threads = min(2, connections)
    args = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration:g}s", "--latency"]
    args += [f"--timeout={timeout:g}s", "-H", f"Authorization: {authorization}"]
    if script is not None:
        args += ["-s", str(script)]
    args.append(url)
    try:
        proc = subprocess.run(
            args, capture_output=True, text=True, timeout=duration + timeout + 30, check=False
        )
        output, code = proc.stdout + proc.stderr, proc.returncode
    except subprocess.TimeoutExpired as exc:
        parts = [
            p.decode(errors="replace") if isinstance(p, bytes) else p or ""
            for p in (exc.stdout, exc.stderr)
        ]
        output, code = "".join(parts) + "\nwrk did not finish in time", -1
    figures = parse_wrk(output)
    return WrkResult(connections, threads, duration, returncode=code, output=output, **figures)
