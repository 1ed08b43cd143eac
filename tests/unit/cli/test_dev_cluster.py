"""cli/dev_cluster/ without a cluster: process bookkeeping, and what several mons are told."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from cli import dev_cluster
from cli.main import build_parser
from tests.support import FORKING_ON_PURPOSE


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


# Forked, not spawned: the child must have this process' own command line.
@pytest.mark.filterwarnings(FORKING_ON_PURPOSE)
def test_a_process_under_another_root_is_never_ours(tmp_path: Path) -> None:
    """A chroot's cluster (another release) may use the very conf path of the host's."""
    conf = Path(dev_cluster._cmdline(os.getpid())[-1])  # in every child's command line too
    with _child(None) as same_root, _child(tmp_path) as other_root:
        assert dev_cluster._same_root(same_root)
        assert not dev_cluster._same_root(other_root)
        assert dev_cluster._cmdline(other_root) == dev_cluster._cmdline(same_root)
        assert dev_cluster._is_ours(same_root, conf)
        assert not dev_cluster._is_ours(other_root, conf)


# -- several mons: what ceph.conf, monmaptool and the state file are told ---------------------

_THREE_MONS = [
    dev_cluster.conf._Mon("a", 40001, 40002),
    dev_cluster.conf._Mon("b", 40003, 40004),
    dev_cluster.conf._Mon("c", 40005, 40006),
]
_FSID = "11111111-2222-3333-4444-555555555555"


def test_mons_are_named_in_order_and_counted() -> None:
    assert dev_cluster.conf._mon_names(1) == ["a"]
    assert dev_cluster.conf._mon_names(3) == ["a", "b", "c"]
    for count in (0, dev_cluster.MAX_MONS + 1):
        with pytest.raises(dev_cluster.DevClusterError, match="mons"):
            dev_cluster.conf._mon_names(count)


def test_each_mon_gets_a_port_pair_of_its_own() -> None:
    mons = dev_cluster.conf._plan_mons(3)
    assert [mon.name for mon in mons] == ["a", "b", "c"]
    ports = [port for mon in mons for port in (mon.v2_port, mon.v1_port)]
    assert len(set(ports)) == 6


def test_mon_host_lists_every_mon(tmp_path: Path) -> None:
    text = dev_cluster.conf._conf_text(tmp_path, _FSID, _THREE_MONS)
    mon_host = [line for line in text.splitlines() if line.startswith("mon host")]
    assert mon_host == [
        "mon host = [v2:127.0.0.1:40001,v1:127.0.0.1:40002],"
        "[v2:127.0.0.1:40003,v1:127.0.0.1:40004],"
        "[v2:127.0.0.1:40005,v1:127.0.0.1:40006]"
    ]


def test_the_initial_monmap_holds_every_mon(tmp_path: Path) -> None:
    monmap = tmp_path / "monmap"
    assert dev_cluster.bootstrap._monmaptool_args(_FSID, _THREE_MONS, monmap) == [
        "monmaptool", "--create", "--fsid", _FSID,
        "--addv", "a", "[v2:127.0.0.1:40001,v1:127.0.0.1:40002]",
        "--addv", "b", "[v2:127.0.0.1:40003,v1:127.0.0.1:40004]",
        "--addv", "c", "[v2:127.0.0.1:40005,v1:127.0.0.1:40006]",
        str(monmap),
    ]  # fmt: skip


def test_the_state_file_lists_the_mons(tmp_path: Path) -> None:
    cluster = dev_cluster.DevCluster(
        directory=tmp_path,
        conf=tmp_path / "ceph.conf",
        keyring=tmp_path / "keyring",
        fsid=_FSID,
        mon_addr="127.0.0.1:40001",
        mgr_name="x",
        mon_names=("a", "b", "c"),
    )
    dev_cluster.state._write_state(cluster, osds=1)
    assert dev_cluster.load(tmp_path) == cluster
    state = json.loads((tmp_path / "cluster.json").read_text())
    assert state["mon_names"] == ["a", "b", "c"]
    assert state["daemons"] == ["mon.a", "mon.b", "mon.c", "mgr.x", "osd.0"]
    # A state file written before there were several mons names none: mon a alone.
    del state["mon_names"]
    (tmp_path / "cluster.json").write_text(json.dumps(state))
    assert dev_cluster.load(tmp_path).mon_names == ("a",)


def test_the_cli_takes_a_number_of_mons(capsys: pytest.CaptureFixture[str]) -> None:
    parser = build_parser()
    assert parser.parse_args(["dev-cluster", "up"]).mons == 1
    assert parser.parse_args(["dev-cluster", "up", "--mons", "3"]).mons == 3
    with pytest.raises(SystemExit):
        parser.parse_args(["dev-cluster", "up", "--mons", "0"])
    assert "must be at least 1" in capsys.readouterr().err
