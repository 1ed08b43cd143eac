"""Fixtures for tests against a real throwaway Ceph cluster.

One cluster per session (started by `cephgw dev-cluster`'s code, stopped even when tests fail).
CEPHGW_TEST_CLUSTER_DIR=DIR reuses a cluster already started with `cephgw dev-cluster up --dir
DIR`, for quick local iteration; CI always starts a fresh one.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.auth import Role
from app.main import create_app
from app.settings import Settings
from cli import dev_cluster
from tests.support import TEST_POOL
from tests.support.cluster import ceph_cli, create_key
from tests.support.server import wait_until_ready

pytestmark = pytest.mark.integration

ADMIN_KEY_NAME = "test-admin"
READ_ONLY_KEY_NAME = "test-ro"


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dev_cluster.DevCluster]:
    existing = os.environ.get("CEPHGW_TEST_CLUSTER_DIR")
    if existing:
        yield dev_cluster.load(Path(existing))
        return
    directory = tmp_path_factory.mktemp("cluster")
    try:
        yield dev_cluster.up(directory, osds=3, pools=(TEST_POOL,))
    finally:
        dev_cluster.down(directory)


@pytest.fixture(scope="session")
def three_mons(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dev_cluster.DevCluster]:
    """A cluster of its own for the tests that kill daemons (a mon, the mgr): three mons, as
    `cephgw dev-cluster up --mons 3` starts them, one OSD."""
    directory = tmp_path_factory.mktemp("three-mons") / "cluster"
    try:
        yield dev_cluster.up(directory, osds=1, mons=3, pools=(TEST_POOL,), timeout=120)
    finally:
        dev_cluster.down(directory)


@pytest.fixture(scope="session")
def three_mons_admin(three_mons: dev_cluster.DevCluster) -> tuple[Settings, tuple[str, str]]:
    """The settings of a gateway of `three_mons` and an admin key of that cluster."""
    settings = Settings(conf=three_mons.conf, keyring=three_mons.keyring, key_refresh_interval=1.0)
    return settings, ("three-mons", create_key(settings, "three-mons", Role.ADMIN))


@pytest.fixture(scope="session")
def settings(cluster: dev_cluster.DevCluster) -> Settings:
    return Settings(
        conf=cluster.conf,
        keyring=cluster.keyring,
        name="client.admin",
        mgr_name=cluster.mgr_name,
        key_refresh_interval=1.0,
        ceph_timeout=15.0,
        # Every in-process client is the one address "testclient", and the tests of refused
        # credentials add up; the login throttle's own tests turn it on (test_auth.py).
        auth_failures_per_client=0,
        auth_failures_per_key=0,
        auth_verifications_per_second=1000.0,
    )


@pytest.fixture(scope="session")
def admin_auth(settings: Settings) -> tuple[str, str]:
    return ADMIN_KEY_NAME, create_key(settings, ADMIN_KEY_NAME, Role.ADMIN)


@pytest.fixture(scope="session")
def read_only_auth(settings: Settings) -> tuple[str, str]:
    return READ_ONLY_KEY_NAME, create_key(settings, READ_ONLY_KEY_NAME, Role.READ_ONLY)


@pytest.fixture(scope="session")
def client(
    settings: Settings, admin_auth: tuple[str, str], read_only_auth: tuple[str, str]
) -> Iterator[TestClient]:
    """The gateway app, in process, with its lifespan running against the test cluster."""
    with TestClient(create_app(settings)) as test_client:
        wait_until_ready(test_client, "/pool", admin_auth)
        yield test_client


# ---- Differential tests (tests/integration/test_differential.py): the live restful module.
# Imported here, at the end, so that this section stays an append-only addition.
from tests.integration.differential import (  # noqa: E402
    RestfulModule,
    module_shipped,
    start_restful_module,
)

_DESELECTED_FOR_NO_MODULE: list[str] = []


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests that need the live module say so (`needs_module`), and run where Ceph ships it.

    Where it does not (Tentacle), they are deselected, and the terminal summary says so: the
    recorded answers of the module (tests/integration/test_recorded_module.py) stand in.
    """
    unmarked = [
        item.nodeid
        for item in items
        if "restful_module" in getattr(item, "fixturenames", ())
        and item.get_closest_marker("needs_module") is None
    ]
    if unmarked:
        raise pytest.UsageError(f"these use the live module, mark them needs_module: {unmarked}")
    if module_shipped():
        return
    deselected = [item for item in items if item.get_closest_marker("needs_module")]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if item.get_closest_marker("needs_module") is None]
        _DESELECTED_FOR_NO_MODULE.extend(item.nodeid for item in deselected)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _DESELECTED_FOR_NO_MODULE:
        terminalreporter.write_line(
            f"{len(_DESELECTED_FOR_NO_MODULE)} tests that need the live restful module were "
            "deselected: this Ceph release does not ship it (the recorded answers stand in)"
        )


@pytest.fixture(scope="session")
def restful_module(cluster: dev_cluster.DevCluster) -> Iterator[RestfulModule]:
    """The mgr's own `restful` module serving beside the gateway, for differential tests.

    Enabled on a free loopback port with a self-signed certificate and a legacy key
    (`mgr/restful/keys/diffadmin`); disabled, and its settings removed, at the end.
    """

    with start_restful_module(functools.partial(ceph_cli, cluster), cluster.mgr_name) as module:
        yield module
