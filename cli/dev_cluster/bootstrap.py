"""Making the cluster's parts: the mons with their keys and map, the mgr, each OSD, the pools.

The steps follow the order that works on Ceph 16 (Pacific) and later.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from pathlib import Path

from cli.dev_cluster.conf import MGR_NAME, _mgr_environment, _Mon
from cli.dev_cluster.processes import _start_daemon
from cli.dev_cluster.tools import DevClusterError, _ceph, _Deadline, _run

POOL_PG_NUM = 8


def _monmaptool_args(fsid: str, mons: Sequence[_Mon], monmap: Path) -> list[str]:
    """`monmaptool --create` with every mon of the cluster: the initial monmap."""
    args = ["monmaptool", "--create", "--fsid", fsid]
    for mon in mons:
        args += ["--addv", mon.name, mon.addrvec]
    return [*args, str(monmap)]


def _create_mons(directory: Path, fsid: str, mons: Sequence[_Mon], deadline: _Deadline) -> None:
    """The keys, the initial monmap and each mon's store; then every mon is started."""
    conf = directory / "ceph.conf"
    keyring = directory / "keyring"
    mon_keyring = directory / "mon.keyring"
    monmap = directory / "monmap"
    authtool = "ceph-authtool"
    _run(
        [
            authtool, str(keyring), "--create-keyring", "--gen-key", "-n", "client.admin",
            "--cap", "mon", "allow *", "--cap", "osd", "allow *",
            "--cap", "mds", "allow *", "--cap", "mgr", "allow *",
        ],
        timeout=deadline.call_timeout(),
        what="ceph-authtool (client.admin)",
    )  # fmt: skip
    _run(
        [authtool, str(mon_keyring), "--create-keyring", "--gen-key", "-n", "mon.",
         "--cap", "mon", "allow *"],
        timeout=deadline.call_timeout(),
        what="ceph-authtool (mon.)",
    )  # fmt: skip
    _run(
        [authtool, str(mon_keyring), "--import-keyring", str(keyring)],
        timeout=deadline.call_timeout(),
        what="ceph-authtool --import-keyring",
    )
    _run(
        _monmaptool_args(fsid, mons, monmap),
        timeout=deadline.call_timeout(),
        what="monmaptool --create",
    )
    for mon in mons:
        _run(
            ["ceph-mon", "-c", str(conf), "--mkfs", "-i", mon.name,
             "--monmap", str(monmap), "--keyring", str(mon_keyring)],
            timeout=deadline.call_timeout(),
            what=f"ceph-mon --mkfs (mon.{mon.name})",
            logs=(directory / "log" / f"mon.{mon.name}.log",),
        )  # fmt: skip
    for mon in mons:
        _start_daemon(directory, "ceph-mon", f"mon.{mon.name}", deadline)


def _create_mgr(directory: Path, deadline: _Deadline) -> str:
    conf = directory / "ceph.conf"
    name = f"mgr.{MGR_NAME}"
    data = directory / name
    data.mkdir()
    _ceph(
        conf,
        "auth", "get-or-create", name,
        "mon", "allow profile mgr", "osd", "allow *", "mds", "allow *",
        "-o", str(data / "keyring"),
        timeout=deadline.call_timeout(),
    )  # fmt: skip
    _start_daemon(directory, "ceph-mgr", name, deadline, env=_mgr_environment(directory))
    return name


def _create_osd(directory: Path, deadline: _Deadline) -> str:
    conf = directory / "ceph.conf"
    osd_uuid = str(uuid.uuid4())
    secret = _run(
        ["ceph-authtool", "--gen-print-key"],
        timeout=deadline.call_timeout(),
        what="ceph-authtool --gen-print-key",
    ).strip()
    # `osd new` with a cephx secret registers the OSD and its key (with the standard
    # OSD caps) in one mon round trip; the key must exist before `--mkfs`, which
    # fetches the mon's config as that OSD.
    secrets = directory / f"osd-secret-{osd_uuid}.json"
    secrets.write_text(json.dumps({"cephx_secret": secret}))
    secrets.chmod(0o600)
    try:
        out = _ceph(
            conf, "osd", "new", osd_uuid, "-i", str(secrets), timeout=deadline.call_timeout()
        )
    finally:
        secrets.unlink(missing_ok=True)
    try:
        osd_id = int(out.strip().splitlines()[-1])
    except (ValueError, IndexError) as exc:
        raise DevClusterError(f"ceph osd new: unexpected output {out!r}") from exc
    name = f"osd.{osd_id}"
    data = directory / name
    data.mkdir()
    keyring = data / "keyring"
    keyring.write_text(f"[{name}]\n\tkey = {secret}\n")
    keyring.chmod(0o600)
    _run(
        ["ceph-osd", "-c", str(conf), "-i", str(osd_id), "--mkfs", "--osd-uuid", osd_uuid],
        timeout=deadline.call_timeout(),
        what=f"ceph-osd --mkfs ({name})",
        logs=(directory / "log" / f"{name}.log",),
    )
    _start_daemon(directory, "ceph-osd", name, deadline)
    return name


def _create_pools(conf: Path, pools: Sequence[str], deadline: _Deadline) -> None:
    """Pools of POOL_PG_NUM PGs each."""
    for name in pools:
        # Not every release's mgr makes a pool of its own (Reef makes none here): these
        # are the pools a user of the cluster can count on.
        _ceph(conf, "osd", "pool", "create", name, str(POOL_PG_NUM),
              timeout=deadline.call_timeout())  # fmt: skip
