"""What the tests share: names every cluster of theirs has, waiting for a condition, the JSON
lines a logger wrote, and the recorded samples (samples/: Ceph's and the restful module's
answers, recorded on Pacific)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:  # bench/ imports this module, and needs no pytest
    import pytest

T = TypeVar("T")
A = TypeVar("A")

# The tests' own pool, made with every test cluster: not every release's mgr makes one (Reef
# makes none), and many tests need a pool that is there.
TEST_POOL = "cephgw-tests"

SAMPLES_DIR = Path(__file__).parent / "samples"

# The filter of the warning Python 3.12+ gives for any fork from a process with threads (the
# tests run threads), for the tests that fork on purpose: pytest.mark.filterwarnings(...).
FORKING_ON_PURPOSE = "ignore:This process .* is multi-threaded, use of fork:DeprecationWarning"


def read_sample(name: str) -> bytes:
    """The recorded sample `name` (a file of SAMPLES_DIR), as it came."""
    return (SAMPLES_DIR / name).read_bytes()


def load_sample(name: str) -> Any:
    """The recorded sample `name`, parsed as JSON."""
    return json.loads(read_sample(name))


def json_log_lines(caplog: pytest.LogCaptureFixture, logger: str) -> list[dict[str, Any]]:
    """What the logger `logger` (the access log's, the audit's) wrote, one JSON line each."""
    return [json.loads(r.getMessage()) for r in caplog.records if r.name == logger]


def wait_until(
    check: Callable[[], T | None],
    what: str,
    limit: float = 60,
    interval: float = 0.25,
    *,
    detail: Callable[[], object] | None = None,
) -> T:
    """Call `check` until it returns something true (which is returned), for `limit` seconds;
    then fail the test with `what` (what was waited for), and what `detail` tells (the last
    answer, a server's output) when given."""
    deadline = time.monotonic() + limit
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() >= deadline:
            message = f"timed out after {limit:g} s waiting until {what}"
            raise AssertionError(message if detail is None else f"{message}:\n{detail()}")
        time.sleep(interval)


def ask_until(
    ask: Callable[[], A],
    accept: Callable[[A], object],
    what: str,
    limit: float = 60,
    interval: float = 0.25,
    *,
    show: Callable[[A], object] = repr,
) -> A:
    """Call `ask` until `accept` takes its answer (which is returned), for `limit` seconds; then
    fail the test with `what` and the last answer (as `show` shows it)."""
    last: list[A] = []

    def accepted() -> tuple[A] | None:
        last[:] = [ask()]
        return (last[0],) if accept(last[0]) else None

    (answer,) = wait_until(accepted, what, limit, interval, detail=lambda: show(last[0]))
    return answer
