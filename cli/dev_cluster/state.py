"""What a cluster directory records: the DevCluster, its state file, and what runs of it."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from cli.dev_cluster.conf import DEFAULT_DIR, MON_NAME
from cli.dev_cluster.processes import _daemon_name, _is_ours, _read_pid
from cli.dev_cluster.tools import DevClusterError

STATE_FILE = "cluster.json"
# Written before anything else, so that `up` and `down` only ever wipe a directory
# that this package created.
MARKER_FILE = ".cephgw-dev-cluster"


@dataclass(frozen=True)
class DevCluster:
    directory: Path
    conf: Path
    keyring: Path
    fsid: str
    mon_addr: str  # the first mon's (v2)
    mgr_name: str
    mon_names: tuple[str, ...] = (MON_NAME,)


def _is_dev_cluster_dir(directory: Path) -> bool:
    return (directory / MARKER_FILE).exists() or (directory / STATE_FILE).exists()


def _write_state(cluster: DevCluster, osds: int) -> None:
    state: dict[str, Any] = {
        key: list(value) if isinstance(value, tuple) else str(value)
        for key, value in asdict(cluster).items()
    }
    state["osds"] = osds
    state["daemons"] = (
        [f"mon.{name}" for name in cluster.mon_names]
        + [f"mgr.{cluster.mgr_name}"]
        + [f"osd.{i}" for i in range(osds)]
    )
    path = cluster.directory / STATE_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=2) + "\n")
    tmp.replace(path)


def _read_state(directory: Path) -> dict[str, Any]:
    try:
        data = json.loads((directory / STATE_FILE).read_text())
    except FileNotFoundError as exc:
        raise DevClusterError(f"no dev cluster in {directory} ({STATE_FILE} missing)") from exc
    except (OSError, ValueError) as exc:
        raise DevClusterError(f"{directory / STATE_FILE}: unreadable ({exc})") from exc
    if not isinstance(data, dict):
        raise DevClusterError(f"{directory / STATE_FILE}: not a JSON object")
    return data


def load(directory: Path = DEFAULT_DIR) -> DevCluster:
    """The cluster recorded in `directory` (running or not)."""
    directory = directory.expanduser().absolute()
    state = _read_state(directory)
    try:
        return DevCluster(
            directory=Path(state["directory"]),
            conf=Path(state["conf"]),
            keyring=Path(state["keyring"]),
            fsid=str(state["fsid"]),
            mon_addr=str(state["mon_addr"]),
            mgr_name=str(state["mgr_name"]),
            # State files from before there could be more mons than `a` do not list them.
            mon_names=tuple(str(name) for name in state.get("mon_names", [MON_NAME])),
        )
    except KeyError as exc:
        raise DevClusterError(f"{directory / STATE_FILE}: missing {exc}") from exc


def status(directory: Path = DEFAULT_DIR) -> dict[str, object]:
    """What `directory` holds and which of its daemons run.

    `running` is true when every daemon the cluster was started with is alive.
    """
    directory = directory.expanduser().absolute()
    result: dict[str, object] = {"directory": str(directory), "exists": directory.is_dir()}
    if not directory.is_dir():
        result.update(running=False, daemons={})
        return result
    conf = directory / "ceph.conf"
    names: list[str] = []
    try:
        state = _read_state(directory)
        result.update(
            {
                key: state.get(key)
                for key in ("conf", "keyring", "fsid", "mon_addr", "mon_names", "mgr_name", "osds")
            }
        )
        names = [str(name) for name in state.get("daemons", [])]
    except DevClusterError as exc:
        result["error"] = str(exc)
    names += [
        _daemon_name(p) for p in sorted((directory / "run").glob("*.pid"))
        if _daemon_name(p) not in names
    ]  # fmt: skip
    daemons: dict[str, dict[str, object]] = {}
    for name in names:
        pid = _read_pid(directory / "run" / f"{name}.pid")
        daemons[name] = {"pid": pid, "running": pid is not None and _is_ours(pid, conf)}
    result["daemons"] = daemons
    result["running"] = bool(daemons) and all(d["running"] for d in daemons.values())
    return result
