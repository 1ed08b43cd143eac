"""Record the live restful module's answers, for the releases that no longer ship it.

`make record-module-answers` runs this on Reef (in its chroot, or natively on a Debian 13 host):
a throwaway cluster made as the tests make theirs, the module enabled in it, and every endpoint
the differential tests ask it (reads, /perf, not found, bad input, failed authentication)
written to tests/integration/recorded/<release>/, one JSON file each. The files are committed;
tests/integration/test_recorded_module.py compares the gateway with them.
"""

from __future__ import annotations

import argparse
import functools
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from cli import dev_cluster
from tests.integration.differential import (
    AUTH_CASES,
    BAD_INPUT_PATHS,
    NOT_FOUND_PATHS,
    PERF_PATHS,
    READ_PATHS,
    RECORDED_DIR,
    UNAUTHENTICATED,
    RestfulModule,
    Targets,
    corrupt,
    module_shipped,
    record_reply,
    start_restful_module,
)
from tests.support import TEST_POOL, wait_until
from tests.support.cluster import ceph_cli


def record(module: RestfulModule, release: str) -> list[Path]:
    def get(path: str) -> Any:
        return module.http.get(path, auth=module.auth).json()

    targets = Targets.find(get, TEST_POOL)
    # Enabling the module restarts the mgr: its counters come with each daemon's next report.
    daemons = {"mon.a", "osd.0", "osd.1", "osd.2"}
    wait_until(lambda: daemons <= set(get("/perf")), "the module has every daemon's counters")
    written = []
    for template in (*READ_PATHS, *PERF_PATHS, *NOT_FOUND_PATHS, *BAD_INPUT_PATHS):
        path = targets.fill(template)
        auth = None if template in UNAUTHENTICATED else module.auth
        written.append(record_reply(template, path, module.http.get(path, auth=auth), release))
    for case in AUTH_CASES:
        response = module.http.get("/pool", auth=corrupt(module.auth, case))
        written.append(record_reply(f"/pool ({case})", "/pool", response, release))
    return written


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--release", help="directory name (default: this Ceph's release name)")
    args = parser.parse_args()
    release = args.release or dev_cluster.ceph_release()
    if not module_shipped():
        print(f"record: Ceph {release} does not ship the restful module", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="cephgw-record-") as tmp:
        directory = Path(tmp) / "cluster"
        cluster = dev_cluster.up(directory, osds=3, pools=(TEST_POOL,))
        try:
            started = time.monotonic()
            ceph = functools.partial(ceph_cli, cluster)
            with start_restful_module(ceph, cluster.mgr_name) as module:
                written = record(module, release)
        finally:
            dev_cluster.down(directory)
    print(
        f"record: {len(written)} answers of the {release} module in "
        f"{RECORDED_DIR / release} ({time.monotonic() - started:.0f} s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
