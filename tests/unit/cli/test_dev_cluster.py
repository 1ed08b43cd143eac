"""cli/dev_cluster/'s process bookkeeping, without a cluster."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cli import dev_cluster


@contextmanager
def _child(chroot_to: Path | None) -> Iterator[int]:
    """A forked child (same command line as this process), chrooted into a folder or not."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            if chroot_to is not None:
                os.chroot(chroot_to)
            os.write(write_end, b"ok")
            time.sleep(60)
        finally:
            os._exit(0)
    try:
        assert os.read(read_end, 2) == b"ok"
        yield pid
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(read_end)
        os.close(write_end)


def test_a_process_under_another_root_is_never_ours(tmp_path: Path) -> None:
    """A chroot's cluster (another release) may use the very conf path of the host's."""
    conf = Path(dev_cluster._cmdline(os.getpid())[-1])  # in every child's command line too
    with _child(None) as same_root, _child(tmp_path) as other_root:
        assert dev_cluster._same_root(same_root)
        assert not dev_cluster._same_root(other_root)
        assert dev_cluster._cmdline(other_root) == dev_cluster._cmdline(same_root)
        assert dev_cluster._is_ours(same_root, conf)
        assert not dev_cluster._is_ours(other_root, conf)
