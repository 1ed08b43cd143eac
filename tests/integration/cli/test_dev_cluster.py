"""cli/dev_cluster/ against Ceph's real daemons: two clusters side by side, then down."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from cli.dev_cluster import DevClusterError, down, load, status, up

pytestmark = pytest.mark.integration


def _ceph_json(conf: Path, *args: str) -> dict[str, object]:
    out = subprocess.run(
        ["ceph", "-c", str(conf), "--connect-timeout", "10", *args, "-f", "json"],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout
    data = json.loads(out)
    assert isinstance(data, dict)
    return data


def _daemon_pids(directory: Path) -> dict[str, int]:
    daemons = status(directory)["daemons"]
    assert isinstance(daemons, dict)
    pids: dict[str, int] = {}
    for name, info in daemons.items():
        assert info["running"], f"{name} is not running: {daemons}"
        pids[name] = info["pid"]
    return pids


def _alive(pid: int, conf: Path) -> bool:
    # An exited daemon nobody reaped yet is a zombie with an empty cmdline: gone.
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return str(conf).encode() in cmdline.split(b"\0")


def test_two_clusters_up_status_down(tmp_path: Path) -> None:
    first_dir = tmp_path / "one"
    second_dir = tmp_path / "two"
    try:
        first = up(first_dir, osds=1, timeout=60)
        assert first.conf == first_dir / "ceph.conf"
        assert first.keyring == first_dir / "keyring"
        assert first.mgr_name == "x"
        assert load(first_dir) == first

        first_pids = _daemon_pids(first_dir)
        assert set(first_pids) == {"mon.a", "mgr.x", "osd.0"}
        assert status(first_dir)["running"] is True
        assert _ceph_json(first.conf, "osd", "stat")["num_up_osds"] == 1
        assert _ceph_json(first.conf, "mgr", "stat")["available"] is True

        with pytest.raises(DevClusterError, match="already holds a running cluster"):
            up(first_dir, osds=1)
        assert _daemon_pids(first_dir) == first_pids, "a refused `up` touched the cluster"

        second = up(second_dir, osds=1, timeout=60)
        assert second.mon_addr != first.mon_addr
        assert second.fsid != first.fsid
        second_status = _ceph_json(second.conf, "status")
        assert second_status["fsid"] == second.fsid
        second_pids = _daemon_pids(second_dir)

        down(second_dir)
        assert not second_dir.exists()
        assert not any(_alive(pid, second.conf) for pid in second_pids.values())
        # Stopping the second cluster left the first one alone.
        assert _daemon_pids(first_dir) == first_pids
        assert _ceph_json(first.conf, "osd", "stat")["num_up_osds"] == 1

        down(first_dir)
        assert not first_dir.exists()
        assert not any(_alive(pid, first.conf) for pid in first_pids.values())
        assert status(first_dir) == {
            "directory": str(first_dir),
            "exists": False,
            "running": False,
            "daemons": {},
        }
        down(first_dir)  # a second `down` is a no-op
    finally:
        down(second_dir)
        down(first_dir)
