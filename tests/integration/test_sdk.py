"""SDKs generated from the served spec work: a Python client and TypeScript types.

The spec is read off a live `cephgw serve` over TLS. openapi-python-client makes a Python
package of it (into a tmp dir, never committed), which then lists pools, reads an OSD and
creates, reads and deletes a pool through its typed functions and models. openapi-typescript
makes `paths`/`components` types that tests/sdk/ts/client.ts must type-check against
(`tsc --noEmit`), and smoke.ts then runs that client against the gateway. docs/sdk.md shows
the same code.
"""

from __future__ import annotations

import base64
import importlib
import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from cli.dev_cluster import DevCluster
from tests.support.cluster import ceph_cli_json
from tests.support.server import Gateway, serve_tls, shown_on_failure

pytestmark = pytest.mark.integration

VENV_BIN = Path(sys.executable).parent
TS_DIR = Path(__file__).parents[1] / "sdk" / "ts"
PACKAGE = "cephgw_client"


@pytest.fixture(scope="module")
def gateway(
    cluster: DevCluster, admin_auth: tuple[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Gateway]:
    log = tmp_path_factory.mktemp("sdk-gateway") / "serve.log"
    with serve_tls(cluster, "sdktest", admin_auth, log) as gw:
        yield gw


@pytest.fixture(autouse=True)
def _gateway_log(gateway: Gateway) -> Iterator[None]:
    with shown_on_failure(gateway):
        yield


@pytest.fixture(scope="module")
def spec_file(gateway: Gateway, tmp_path_factory: pytest.TempPathFactory) -> Path:
    # No key needed for the spec, as for /doc.
    r = httpx.get(f"{gateway.url}/openapi.json", verify=gateway.ssl_context())
    assert r.status_code == 200
    path = tmp_path_factory.mktemp("spec") / "openapi.json"
    path.write_text(r.text)
    return path


def _run(args: list[str | Path], cwd: Path | None = None, timeout: float = 300) -> str:
    env = {**os.environ, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    r = subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert r.returncode == 0, f"{' '.join(map(str, args))} failed:\n{r.stdout}\n{r.stderr}"
    return r.stdout


# -- Python -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def python_sdk(spec_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The generated package, importable as `cephgw_client` while the module's tests run."""
    root = tmp_path_factory.mktemp("python-sdk")
    # --fail-on-warning: a spec construct the generator cannot type (and skips) fails here.
    _run(
        [
            VENV_BIN / "openapi-python-client",
            "generate",
            "--path",
            spec_file,
            "--output-path",
            root / PACKAGE,
            "--meta",
            "none",
            "--fail-on-warning",
        ]
    )
    sys.path.insert(0, str(root))
    try:
        yield root / PACKAGE
    finally:
        sys.path.remove(str(root))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
            del sys.modules[name]


def sdk(module: str) -> Any:
    """A module of the generated client, e.g. sdk("api.pool.list_pools")."""
    return importlib.import_module(f"{PACKAGE}.{module}")


def authenticated(gateway: Gateway, auth: tuple[str, str]) -> Any:
    """The generated AuthenticatedClient, doing HTTP Basic and trusting the gateway's cert."""
    token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
    return sdk("client").AuthenticatedClient(
        base_url=gateway.url,
        token=token,
        prefix="Basic",
        verify_ssl=gateway.ssl_context(),
        raise_on_unexpected_status=True,  # an undeclared status is a spec bug: fail loudly
    )


def test_python_client_lists_pools_and_reads_an_osd(
    python_sdk: Path, gateway: Gateway, admin_auth: tuple[str, str], cluster: DevCluster
) -> None:
    models = sdk("models")
    list_pools, get_pool = sdk("api.pool.list_pools"), sdk("api.pool.get_pool")
    get_osd, list_osds = sdk("api.osd.get_osd"), sdk("api.osd.list_osds")
    with authenticated(gateway, admin_auth) as client:
        pools = list_pools.sync(client=client)
        assert isinstance(pools, list)
        assert all(isinstance(p, models.Pool) for p in pools)
        ceph_pools = ceph_cli_json(cluster, "osd", "pool", "ls")
        assert sorted(p.pool_name for p in pools) == sorted(ceph_pools)

        one = get_pool.sync(client=client, pool_id=pools[0].pool)
        assert isinstance(one, models.Pool)
        assert one.pool_name == pools[0].pool_name

        osd = get_osd.sync(client=client, osd_id=0)
        assert isinstance(osd, models.Osd)
        assert osd.osd == 0
        assert osd.up == 1
        assert osd.in_ == 1  # `in` is a Python keyword
        assert all(isinstance(o, models.Osd) for o in list_osds.sync(client=client))

        # Errors come back as the one typed error model, for any declared status.
        missing = get_pool.sync_detailed(client=client, pool_id=999_999)
        assert missing.status_code == 404
        assert isinstance(missing.parsed, models.ErrorResponse)
        assert missing.parsed.message

    with authenticated(gateway, (admin_auth[0], "wrong")) as client:
        denied = list_pools.sync_detailed(client=client)
        assert denied.status_code == 401
        assert isinstance(denied.parsed, models.ErrorResponse)


def test_python_client_creates_reads_and_deletes_a_pool(
    python_sdk: Path, gateway: Gateway, admin_auth: tuple[str, str], cluster: DevCluster
) -> None:
    assert (python_sdk / "api" / "pool" / "create_pool.py").exists(), (
        "POST /pool (operation create_pool) is missing from the generated client"
    )
    models = sdk("models")
    create_pool, delete_pool = sdk("api.pool.create_pool"), sdk("api.pool.delete_pool")
    list_pools, get_pool = sdk("api.pool.list_pools"), sdk("api.pool.get_pool")
    get_request = sdk("api.request.get_request")
    name = f"sdk-{uuid.uuid4().hex[:8]}"
    with authenticated(gateway, admin_auth) as client:
        # ?wait= is a boolean for a generated client (sent as `true`), or the module's "1".
        created = create_pool.sync_detailed(
            client=client, body=models.PoolCreate(name=name, pg_num=8), wait=True
        )
        assert created.status_code == 200, created.content
        job = created.parsed
        assert isinstance(job, models.Job)
        assert job.state == models.JobState.SUCCESS, job.to_dict()
        assert name in ceph_cli_json(cluster, "osd", "pool", "ls")
        try:
            again = get_request.sync(client=client, request_id=job.id)
            assert isinstance(again, models.Job)
            assert again.id == job.id
            assert again.is_finished
            assert [c.command for c in again.finished] == [c.command for c in job.finished]

            pool = next(p for p in list_pools.sync(client=client) if p.pool_name == name)
            assert pool.pg_num == 8

            # A second create of that name changing it is the declared 409, with the error
            # model (a plain re-create succeeds, as in Ceph).
            clash = create_pool.sync_detailed(
                client=client, body=models.PoolCreate(name=name, pg_num=8, size=2), wait="1"
            )
            assert clash.status_code == 409, clash.content
            assert isinstance(clash.parsed, models.ErrorResponse)
        finally:
            pool_id = next(p.pool for p in list_pools.sync(client=client) if p.pool_name == name)
            deleted = delete_pool.sync(client=client, pool_id=pool_id, wait="1")
            assert isinstance(deleted, models.Job)
            assert deleted.state == models.JobState.SUCCESS, deleted.to_dict()
        assert name not in ceph_cli_json(cluster, "osd", "pool", "ls")
        gone = get_pool.sync_detailed(client=client, pool_id=pool_id)
        assert gone.status_code == 404
        assert isinstance(gone.parsed, models.ErrorResponse)


# -- TypeScript ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def node_tools() -> Path:
    """tests/sdk/ts/node_modules/.bin, installed from the lock file (bootstrap does it too)."""
    npm = shutil.which("npm")
    assert npm, "npm is needed for the TypeScript check: run scripts/bootstrap.sh"
    bin_dir = TS_DIR / "node_modules" / ".bin"
    stamp = TS_DIR / "node_modules" / ".package-lock.json"
    lock = TS_DIR / "package-lock.json"
    if not stamp.exists() or stamp.stat().st_mtime < lock.stat().st_mtime:
        _run([npm, "ci", "--no-audit", "--no-fund", "--prefer-offline"], cwd=TS_DIR)
    return bin_dir


@pytest.mark.host_only  # Node.js is on the host only
def test_typescript_types_type_check_and_the_client_runs(
    node_tools: Path,
    spec_file: Path,
    gateway: Gateway,
    admin_auth: tuple[str, str],
    cluster: DevCluster,
    tmp_path: Path,
) -> None:
    work = tmp_path / "ts"
    work.mkdir()
    for name in ("client.ts", "smoke.ts", "tsconfig.json"):
        shutil.copy(TS_DIR / name, work / name)
    _run([node_tools / "openapi-typescript", spec_file, "-o", work / "schema.d.ts"])
    # The generated types must carry the schemas client.ts relies on (SpecChecks included).
    _run([node_tools / "tsc", "--noEmit", "-p", work])

    _run([node_tools / "tsc", "-p", work])
    cert = tmp_path / "gateway.crt"
    cert.write_text(gateway.cert_pem)
    node = shutil.which("node")
    assert node
    r = subprocess.run(
        [node, str(work / "dist" / "smoke.js")],
        env={
            **os.environ,
            "CEPHGW_URL": gateway.url,
            "CEPHGW_KEY_NAME": admin_auth[0],
            "CEPHGW_KEY": admin_auth[1],
            "NODE_EXTRA_CA_CERTS": str(cert),
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    out = json.loads(r.stdout)
    assert sorted(out["pools"]) == sorted(ceph_cli_json(cluster, "osd", "pool", "ls"))
    assert out["osd"] == 0
    assert out["job"]["state"] == "success"
    size = ceph_cli_json(cluster, "osd", "pool", "get", out["pools"][0], "size")["size"]
    assert json.loads(out["job"]["outb"][0])["size"] == size
