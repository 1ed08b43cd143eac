"""The supervisor's side of a reload under granian (cli/granian_server.py): an old worker that
stops at once is never taken as refusing to stop, however granian's own watcher thread races
to reap it; one that ignores SIGTERM is."""

from __future__ import annotations

import multiprocessing
import signal
import threading
import time

import pytest

from cli.granian_server import stopped_within
from tests.support import FORKING_ON_PURPOSE

FORK = multiprocessing.get_context("fork")

# The fork is the point: granian forks its workers on Linux, and the race is with a thread
# that joins them.
pytestmark = pytest.mark.filterwarnings(FORKING_ON_PURPOSE)


def _serve_until_terminated() -> None:
    time.sleep(60)


def test_a_worker_that_stops_at_once_is_seen_stopped_while_another_thread_reaps_it() -> None:
    # As under granian: a thread per worker joins it (its crash watcher), and reaps it first
    # as often as not. Repeated, as the race is one of thread scheduling.
    for _ in range(20):
        worker = FORK.Process(target=_serve_until_terminated)
        worker.start()
        watcher = threading.Thread(target=worker.join)
        watcher.start()
        worker.terminate()
        assert stopped_within(worker, 10)
        watcher.join(10)
        assert worker.exitcode == -signal.SIGTERM


def test_a_worker_that_ignores_sigterm_is_not_seen_stopped() -> None:
    ready = FORK.Event()

    def ignoring() -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        ready.set()
        time.sleep(60)

    worker = FORK.Process(target=ignoring)
    worker.start()
    assert ready.wait(10)
    worker.terminate()
    started = time.monotonic()
    assert not stopped_within(worker, 0.5)
    assert time.monotonic() - started >= 0.5
    worker.kill()
    assert stopped_within(worker, 10)
    worker.join()
