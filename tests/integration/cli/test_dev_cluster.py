"""cli/dev_cluster/ against Ceph's real daemons: two clusters side by side, then down; three
mons, one of them stopped and started again."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from cli.dev_cluster import (
    DevClusterError,
    down,
    load,
    start_mon,
    status,
    stop_mon,
    up,
)

pytestmark = pytest.mark.integration

# Three new mons hold a second election after their first quorum; when an ack misses it, they
# wait out mon_election_timeout (5 s): `up` may take that much longer than with one mon.
THREE_MONS_UP_TIMEOUT = 90.0


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


def _mon_ports(conf: Path) -> list[int]:
    """Every mon's ports, from the cluster's own monmap."""
    monmap = _ceph_json(conf, "mon", "dump")
    mons = monmap["mons"]
    assert isinstance(mons, list)
    return [int(a["addr"].rsplit(":", 1)[1].split("/")[0])
            for mon in mons for a in mon["public_addrs"]["addrvec"]]  # fmt: skip


def _processes_of(conf: Path) -> list[int]:
    """Every process on the machine whose command line names this cluster's conf."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and _alive(int(entry.name), conf):
            found.append(int(entry.name))
    return found


def _quorum(conf: Path) -> list[str]:
    names = _ceph_json(conf, "quorum_status")["quorum_names"]
    assert isinstance(names, list)
    return sorted(names)


def _wait_for_quorum(conf: Path, names: list[str], timeout: float = 90.0) -> None:
    """Until the quorum is `names`; while the mons elect, the CLI may find none to answer."""
    end = time.monotonic() + timeout
    while True:
        try:
            if _quorum(conf) == names:
                return
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
            pass
        assert time.monotonic() < end, f"no quorum of {','.join(names)} after {timeout:g} s"
        time.sleep(0.25)


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

        # The second has three mons, each on ports of its own, none of them the first's.
        second = up(second_dir, osds=1, mons=3, timeout=THREE_MONS_UP_TIMEOUT)
        assert second.mon_addr != first.mon_addr
        assert second.fsid != first.fsid
        second_status = _ceph_json(second.conf, "status")
        assert second_status["fsid"] == second.fsid
        assert _quorum(second.conf) == ["a", "b", "c"]
        first_ports, second_ports = _mon_ports(first.conf), _mon_ports(second.conf)
        assert len(first_ports) == 2
        assert len(set(second_ports)) == 6
        assert not set(first_ports) & set(second_ports)
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


def test_three_mons_survive_one_stopped_and_take_it_back(tmp_path: Path) -> None:
    directory = tmp_path / "mons"
    try:
        cluster = up(directory, osds=1, mons=3, timeout=THREE_MONS_UP_TIMEOUT)
        assert cluster.mon_names == ("a", "b", "c")
        assert load(directory) == cluster
        assert set(_daemon_pids(directory)) == {"mon.a", "mon.b", "mon.c", "mgr.x", "osd.0"}
        assert _quorum(cluster.conf) == ["a", "b", "c"]
        quorum = _ceph_json(cluster.conf, "quorum_status")
        monmap = quorum["monmap"]
        assert isinstance(monmap, dict)
        first = next(mon for mon in monmap["mons"] if mon["name"] == "a")
        assert first["public_addrs"]["addrvec"][0]["addr"] == cluster.mon_addr

        # The leader killed: the other two elect one of them, and serve reads and writes.
        leader = str(quorum["quorum_leader_name"])
        others = sorted(set(cluster.mon_names) - {leader})
        pid = stop_mon(cluster, leader, kill=True)
        assert not _alive(pid, cluster.conf)
        with pytest.raises(DevClusterError, match="not running"):
            stop_mon(cluster, leader)
        _wait_for_quorum(cluster.conf, others)
        assert _ceph_json(cluster.conf, "osd", "stat")["num_up_osds"] == 1
        subprocess.run(
            ["ceph", "-c", str(cluster.conf), "--connect-timeout", "10",
             "config-key", "set", "cephgw-test/quorum", "two"],
            capture_output=True, check=True, timeout=30,
        )  # fmt: skip
        assert status(directory)["running"] is False

        # Started again, it rejoins the quorum; the cluster is whole.
        start_mon(cluster, leader)
        with pytest.raises(DevClusterError, match="already runs"):
            start_mon(cluster, leader)
        _wait_for_quorum(cluster.conf, ["a", "b", "c"])
        assert status(directory)["running"] is True

        # SIGTERM, the default: the mon is gone when stop_mon returns, and comes back too.
        peon = others[0]
        pid = stop_mon(cluster, peon)
        assert not _alive(pid, cluster.conf)
        start_mon(cluster, peon)
        _wait_for_quorum(cluster.conf, ["a", "b", "c"])
        with pytest.raises(DevClusterError, match="no mon 'd'"):
            stop_mon(cluster, "d")

        down(directory)
        assert not directory.exists()
        assert _processes_of(cluster.conf) == []
    finally:
        down(directory)
