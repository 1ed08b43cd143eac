"""`cephgw dev-cluster up|down|status`: the arguments, and what each action prints."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from cli.dev_cluster.bootstrap import POOL_PG_NUM
from cli.dev_cluster.conf import DEFAULT_DIR, MAX_MONS
from cli.dev_cluster.lifecycle import down, up
from cli.dev_cluster.state import status
from cli.dev_cluster.tools import DevClusterError, MissingCephBinaries, ceph_release


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _package_doc() -> str | None:
    # The package's docstring says what a dev cluster is; imported here, once it is loaded.
    from cli import dev_cluster

    return dev_cluster.__doc__


def add_arguments(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Registers `dev-cluster up|down|status` on the CLI's subparsers."""
    parser = subparsers.add_parser(
        "dev-cluster",
        help="run a throwaway local Ceph cluster (mons, 1 mgr, memstore OSDs)",
        description=_package_doc(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("action", choices=("up", "down", "status"))
    parser.add_argument(
        "--dir",
        dest="directory",
        type=Path,
        default=DEFAULT_DIR,
        help=f"cluster directory (default: {DEFAULT_DIR})",
    )
    parser.add_argument(
        "--mons",
        type=_positive_int,
        default=1,
        help=f"number of mons for `up`, named a, b, c... (default: 1, at most {MAX_MONS})",
    )
    parser.add_argument(
        "--osds", type=_positive_int, default=3, help="number of OSDs for `up` (default: 3)"
    )
    parser.add_argument(
        "--pool",
        dest="pools",
        action="append",
        default=[],
        metavar="NAME",
        help=f"`up`: create a pool of {POOL_PG_NUM} PGs (repeatable; default: none)",
    )
    parser.add_argument(
        "--timeout", type=float, default=60.0, help="seconds `up` may take (default: 60)"
    )
    parser.add_argument("--json", action="store_true", help="`status`: print JSON")
    parser.set_defaults(func=run)


def _print_status(info: dict[str, object]) -> None:
    print(f"directory: {info['directory']}")
    if not info.get("exists"):
        print("no cluster")
        return
    for key in ("conf", "keyring", "fsid", "mon_addr", "error"):
        if info.get(key) is not None:
            print(f"{key}: {info[key]}")
    mon_names = info.get("mon_names")
    if isinstance(mon_names, list):
        print(f"mons: {', '.join(str(name) for name in mon_names)}")
    daemons = info.get("daemons")
    if isinstance(daemons, dict):
        for name, daemon in daemons.items():
            state = "running" if daemon.get("running") else "not running"
            print(f"  {name:<8} pid {daemon.get('pid') or '-':<8} {state}")


def run(args: argparse.Namespace) -> int:
    """Executes a parsed `dev-cluster` command; returns the process exit code."""
    directory: Path = args.directory
    try:
        if args.action == "up":
            started = time.monotonic()
            cluster = up(
                directory, args.osds, mons=args.mons, pools=args.pools, timeout=args.timeout
            )
            elapsed = time.monotonic() - started
            print(
                f"dev cluster up in {elapsed:.1f} s: Ceph {ceph_release()}, "
                f"{len(cluster.mon_names)} mon(s), {args.osds} OSD(s), "
                f"mon {cluster.mon_addr}, fsid {cluster.fsid}"
            )
            print(f"mons:    {', '.join(cluster.mon_names)} (in quorum)")
            print(f"conf:    {cluster.conf}")
            print(f"keyring: {cluster.keyring}")
            print(f"export CEPH_CONF={cluster.conf}")
        elif args.action == "down":
            existed = directory.exists()
            down(directory)
            print(f"dev cluster in {directory} {'stopped and removed' if existed else 'not found'}")
        else:
            info = status(directory)
            if getattr(args, "json", False):
                print(json.dumps(info, indent=2))
            else:
                _print_status(info)
            return 0 if info.get("running") else 1
    except MissingCephBinaries as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except DevClusterError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0
