"""Real monitoring clients against `cephgw serve`, as their users configure them.

Zabbix agent 2's Ceph plugin (Debian's zabbix-agent2) runs every item it has against the
gateway with a read-only key: each answers with data, none with ZBX_NOTSUPPORTED. Monitoring
clients speak through POST /request, and a read-only key may run the commands that only read.
Elastic Metricbeat's `ceph` module (mgr_* metricsets) is not packaged by Debian; its calls are
made here as it makes them: POST /request?wait=1 of each command with `"format": "json"`, the
answer read from `finished[0].outb`, and DELETE /request?id=... after a call.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from cli.dev_cluster import DevCluster
from tests.support import TEST_POOL
from tests.support.cluster import ceph_cli_json
from tests.support.server import Gateway, serve_tls, shown_on_failure

pytestmark = pytest.mark.integration

Auth = tuple[str, str]

ZABBIX_AGENT = "zabbix_agent2"
# Every item of the agent's Ceph plugin (Zabbix 6.0 and 7.0), and how to read its value.
ZABBIX_ITEMS = (
    "ceph.ping",
    "ceph.status",
    "ceph.df.details",
    "ceph.osd.stats",
    "ceph.osd.discovery",
    "ceph.osd.dump",
    "ceph.pool.discovery",
)
# The commands of Metricbeat's mgr_* metricsets (mgr_cluster_disk, mgr_cluster_health,
# mgr_osd_perf, mgr_osd_pool_stats, mgr_osd_tree, mgr_pool_disk), as it sends them.
METRICBEAT_COMMANDS = ("df", "status", "time-sync-status", "osd perf", "osd pool stats", "osd tree")


@pytest.fixture(scope="module")
def gateway(
    cluster: DevCluster, admin_auth: Auth, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Gateway]:
    log = tmp_path_factory.mktemp("clients") / "serve.log"
    with serve_tls(cluster, "clients", admin_auth, log) as gw, shown_on_failure(gw):
        yield gw


# -- Zabbix agent 2 ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def zabbix_conf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An agent configuration of its own: the self-signed certificate is accepted."""
    assert shutil.which(ZABBIX_AGENT), "zabbix_agent2 missing: apt-get install zabbix-agent2"
    directory = tmp_path_factory.mktemp("zabbix")
    conf = directory / "zabbix_agent2.conf"
    conf.write_text(
        "LogType=console\n"
        "Server=127.0.0.1\n"
        "Hostname=cephgw-test\n"
        f"ControlSocket={directory}/agent.sock\n"
        "Plugins.Ceph.InsecureSkipVerify=true\n"
    )
    return conf


def zabbix_item(conf: Path, item: str, url: str, auth: Auth) -> str:
    """One item's value, as `zabbix_agent2 -t` prints it: `item[params] [s|VALUE]`."""
    key = f'{item}["{url}","{auth[0]}","{auth[1]}"]'
    r = subprocess.run(
        [ZABBIX_AGENT, "-c", str(conf), "-t", key],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    out = r.stdout.strip()
    assert out.startswith(key), r.stdout + r.stderr
    kind, _, value = out[len(key) :].strip().removeprefix("[").removesuffix("]").partition("|")
    assert kind == "s", f"{item}: {out}"  # "m" would be ZBX_NOTSUPPORTED
    return value


@pytest.mark.parametrize("item", ZABBIX_ITEMS)
def test_zabbix_items_answer_with_a_read_only_key(
    item: str, zabbix_conf: Path, gateway: Gateway, read_only_auth: Auth, cluster: DevCluster
) -> None:
    value = zabbix_item(zabbix_conf, item, gateway.url, read_only_auth)
    assert "ZBX_NOTSUPPORTED" not in value, value
    data: Any = json.loads(value)
    osds = ceph_cli_json(cluster, "osd", "dump")["osds"]
    if item == "ceph.ping":
        assert data == 1
    elif item == "ceph.status":
        assert data["num_osd"] == len(osds)
        assert data["num_osd_up"] == sum(o["up"] for o in osds)
    elif item == "ceph.df.details":
        assert TEST_POOL in data["pools"]
    elif item == "ceph.osd.stats":
        assert set(data["osds"]) == {str(o["osd"]) for o in osds}
    elif item == "ceph.osd.discovery":
        assert {d["{#OSDNAME}"] for d in data} == {str(o["osd"]) for o in osds}
    elif item == "ceph.osd.dump":
        assert set(data["osds"]) == {str(o["osd"]) for o in osds}
    elif item == "ceph.pool.discovery":
        assert TEST_POOL in {d["{#POOLNAME}"] for d in data}


def test_zabbix_with_a_wrong_key_is_refused(
    zabbix_conf: Path, gateway: Gateway, read_only_auth: Auth
) -> None:
    key = f'ceph.ping["{gateway.url}","{read_only_auth[0]}","wrong"]'
    r = subprocess.run(
        [ZABBIX_AGENT, "-c", str(zabbix_conf), "-t", key],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert "[s|0]" in r.stdout, r.stdout + r.stderr  # ceph.ping says: not reachable


# -- Metricbeat's calls -----------------------------------------------------------------------


def metricbeat_call(gateway: Gateway, auth: Auth, command: dict[str, Any]) -> Any:
    """POST /request?wait=1, then the first finished command's output, as Metricbeat reads it."""
    r = httpx.post(
        f"{gateway.url}/request?wait=1",
        json=command,
        auth=auth,
        verify=gateway.ssl_context(),
        timeout=60,
    )
    assert r.status_code == 200, r.text
    job = r.json()
    assert job["state"] == "success", job
    return job["finished"][0]["outb"]


@pytest.mark.parametrize("prefix", METRICBEAT_COMMANDS)
def test_metricbeat_commands_answer_their_json(
    prefix: str, gateway: Gateway, read_only_auth: Auth, cluster: DevCluster
) -> None:
    outb = metricbeat_call(gateway, read_only_auth, {"prefix": prefix, "format": "json"})
    data = json.loads(outb)
    cli = ceph_cli_json(cluster, *prefix.split())
    # The same command's JSON, as the ceph CLI prints it (values move; the keys do not).
    assert isinstance(data, type(cli))
    if isinstance(cli, dict):
        assert set(data) == set(cli), prefix


def test_a_command_without_format_answers_plain_text(
    gateway: Gateway, read_only_auth: Auth
) -> None:
    outb = metricbeat_call(gateway, read_only_auth, {"prefix": "health"})
    assert outb.startswith("HEALTH_"), outb


def test_delete_with_an_id_argument_removes_every_finished_job(
    gateway: Gateway, admin_auth: Auth
) -> None:
    http = httpx.Client(base_url=gateway.url, auth=admin_auth, verify=gateway.ssl_context())
    with http:
        job = http.post("/request?wait=1", json={"prefix": "osd stat", "format": "json"}).json()
        r = http.delete(f"/request?id={job['id']}")
        assert r.status_code == 200, r.text
        assert r.json()["cleaned"] >= 1
        # As the module: the argument is not looked at, every finished job is gone.
        assert http.get("/request").json() == []
        assert http.get(f"/request/{job['id']}").status_code == 404
