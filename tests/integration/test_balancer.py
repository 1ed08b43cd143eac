"""Three gateways behind HAProxy, as docs/deploy.md deploys them: one job store in RADOS, any
gateway answers for every job, one killed is routed around and its running job ends failed
(that test kills a gateway of the module's deployment: it comes last); a certificate
replaced in config-key is served by each within 5 s.

Each gateway is `cephgw serve --job-store rados` as an operator runs it, with the same
certificate (config-key mgr/restful/<mgr>/crt); HAProxy passes TLS through and balances
connections round robin, checking /readyz. The clients here open a connection per request,
so that consecutive requests reach consecutive gateways.
"""

from __future__ import annotations

import os
import signal
import ssl
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from cli.dev_cluster import DevCluster
from tests.integration.test_qa_flow import Http, run_qa_flow
from tests.support import ask_until, wait_until
from tests.support.balancer import haproxy_config, run_haproxy, server_states
from tests.support.cluster import ceph_cli, fresh_namespace
from tests.support.jobs import OSD_STAT, slow
from tests.support.metrics import total
from tests.support.server import (
    CERTIFICATE_RELOAD_LIMIT,
    Gateway,
    cephgw,
    free_port,
    self_signed_certificate,
    serial_of,
    served_alone_since,
    serving_process,
    wait_serving,
)

pytestmark = pytest.mark.integration

MGR_NAME = "balanced"
GATEWAYS = 3
# Short, so that the test of a killed gateway waits seconds, not the default 30.
JOB_LEASE = 6.0
CHECK_INTERVAL = "500ms"

Auth = tuple[str, str]


@dataclass
class Deployment:
    """The balancer's URL, and each gateway (its process, so that a test may kill it)."""

    url: str
    cert_pem: str
    gateways: list[Gateway]
    processes: list[subprocess.Popen[str]]
    stats_socket: Path
    names: list[str] = field(default_factory=list)

    def client(self, url: str | None = None) -> httpx.Client:
        """A client of the balancer (or of one gateway) with a new connection for every
        request (none kept alive)."""
        return httpx.Client(
            base_url=url or self.url,
            verify=ssl.create_default_context(cadata=self.cert_pem),
            limits=httpx.Limits(max_keepalive_connections=0),
            timeout=30,
        )


@pytest.fixture(scope="module")
def deployment(
    cluster: DevCluster, admin_auth: Auth, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    workdir = tmp_path_factory.mktemp("balancer")
    namespace = fresh_namespace("balancer")  # this run's jobs alone
    with ExitStack() as stack:
        cert_pem = stack.enter_context(self_signed_certificate(cluster, MGR_NAME))
        gateways, processes, names = [], [], []
        for n in range(GATEWAYS):
            port, name = free_port(), f"gw-{n}"
            log = workdir / f"{name}.log"
            env = {
                "CEPHGW_JOB_STORE_NAMESPACE": namespace,
                "CEPHGW_JOB_LEASE": str(JOB_LEASE),
                "CEPHGW_GATEWAY_NAME": name,
            }
            proc = stack.enter_context(
                serving_process(cluster, MGR_NAME, port, log, "--job-store", "rados", env=env)
            )
            gateways.append(Gateway(f"https://127.0.0.1:{port}", cert_pem, log, proc.pid))
            processes.append(proc)
            names.append(name)
        for proc, gateway in zip(processes, gateways, strict=True):
            wait_serving(proc, gateway, admin_auth)
        listen, stats = f"127.0.0.1:{free_port()}", workdir / "haproxy.sock"
        backends = [
            (name, g.url.removeprefix("https://")) for name, g in zip(names, gateways, strict=True)
        ]
        config = haproxy_config(listen, backends, check_interval=CHECK_INTERVAL, stats_socket=stats)
        stack.enter_context(run_haproxy(config, workdir))
        deployed = Deployment(f"https://{listen}", cert_pem, gateways, processes, stats, names)
        ask_until(
            lambda: server_states(stats) if stats.exists() else {},
            lambda states: set(states.values()) == {"UP"} and len(states) == GATEWAYS,
            "HAProxy sees every gateway up",
            limit=30,
        )
        yield deployed


def test_the_qa_flow_passes_through_the_balancer(
    deployment: Deployment, admin_auth: Auth, cluster: DevCluster
) -> None:
    with deployment.client() as http:
        run = run_qa_flow(Http("cephgw behind HAProxy", http, admin_auth), cluster, "qa-balanced")
    if run.all_problems():
        pytest.fail(run.report(), pytrace=False)


def test_a_write_through_one_gateway_is_read_at_once_through_the_others(
    deployment: Deployment, admin_auth: Auth
) -> None:
    # Each of the others has just cached the pool list (well within cache_max_age), so it
    # answers the write only if the writer's notice invalidated it (app/ceph/peers.py).
    writer, *others = (deployment.client(g.url) for g in deployment.gateways)
    with writer, others[0], others[1]:

        def pool_names(http: httpx.Client) -> list[str]:
            listed = http.get("/pool", auth=admin_auth)
            assert listed.status_code == 200, listed.text
            return [pool["pool_name"] for pool in listed.json()]

        for n in range(3):
            name = f"peers-{n}"
            assert all(name not in pool_names(http) for http in others)
            made = writer.post("/pool?wait=1", json={"name": name, "pg_num": 1}, auth=admin_auth)
            assert made.status_code == 200, made.text
            assert made.json()["state"] == "success", made.json()
            assert [name in pool_names(http) for http in others] == [True, True]
            pool_id = next(
                p["pool"]
                for p in writer.get("/pool", auth=admin_auth).json()
                if p["pool_name"] == name
            )
            gone = writer.delete(f"/pool/{pool_id}?wait=1", auth=admin_auth)
            assert gone.status_code == 200, gone.text
            assert [name in pool_names(http) for http in others] == [False, False]


def test_requests_reach_every_gateway_in_turn(deployment: Deployment, admin_auth: Auth) -> None:
    # Each gateway's own /metrics counts the requests it served: all three grow.
    def served(gateway: Gateway) -> float:
        with deployment.client(gateway.url) as http:
            text = http.get("/metrics", auth=admin_auth).text
        return total(text, "cephgw_http_requests_total", route="/mon")

    before = [served(g) for g in deployment.gateways]
    with deployment.client() as http:
        for _ in range(3 * GATEWAYS):
            assert http.get("/mon", auth=admin_auth).status_code == 200
    after = [served(g) for g in deployment.gateways]
    assert [b - a for a, b in zip(before, after, strict=True)] == [3.0] * GATEWAYS


def test_a_job_posted_through_one_gateway_is_read_and_deleted_through_the_others(
    deployment: Deployment, admin_auth: Auth
) -> None:
    first, second, third = (deployment.client(g.url) for g in deployment.gateways)
    with first, second, third, deployment.client() as balanced:
        posted = first.post("/request", json=[[slow()], [OSD_STAT]], auth=admin_auth)
        assert posted.status_code == 200, posted.text
        job_id = posted.json()["id"]
        # Through each other gateway, and through the balancer (whichever it picks).
        for http in (second, third, balanced, balanced, balanced):
            seen = http.get(f"/request/{job_id}", auth=admin_auth)
            assert seen.status_code == 200, seen.text
            assert seen.json()["id"] == job_id
        done = ask_until(
            lambda: third.get(f"/request/{job_id}", auth=admin_auth).json(),
            lambda job: job["state"] != "pending",
            "the job ends, as its other gateways see it",
        )
        assert done["state"] == "success"
        assert done["finished"][-1]["command"] == "osd stat format=json"
        assert job_id in [j["id"] for j in second.get("/request", auth=admin_auth).json()]
        deleted = second.delete(f"/request/{job_id}", auth=admin_auth)
        assert deleted.status_code == 200, deleted.text
        assert deleted.json() == done
        for http in (first, second, third):
            gone = http.get(f"/request/{job_id}", auth=admin_auth)
            assert gone.status_code == 404, gone.text
            assert gone.json() == {"message": f'Unknown request id "{job_id}"'}
        # ?wait=1 through the balancer: the answer is the job's end, wherever it ran.
        waited = balanced.post("/request?wait=1", json=OSD_STAT, auth=admin_auth)
        assert waited.status_code == 200, waited.text
        assert waited.json()["state"] == "success"
        for http in (first, second, third):
            assert http.get(f"/request/{waited.json()['id']}", auth=admin_auth).json() == (
                waited.json()
            )


def test_a_certificate_replaced_in_config_key_is_served_by_every_gateway_within_5_s(
    deployment: Deployment, admin_auth: Auth, cluster: DevCluster
) -> None:
    made = cephgw(cluster, "create-self-signed-cert", "--mgr-name", MGR_NAME)
    replaced = time.monotonic()  # the key was stored last, just before the command ended
    assert made.returncode == 0, made.stderr
    new_pem = ceph_cli(cluster, "config-key", "get", f"mgr/restful/{MGR_NAME}/crt")
    alone = served_alone_since(
        [g.port for g in deployment.gateways],
        serial_of(new_pem),
        until=replaced + CERTIFICATE_RELOAD_LIMIT + 3,
    )
    delays = [round(t - replaced, 2) for t in alone]
    print(f"each gateway served the new certificate alone after {delays} s")
    assert max(delays) <= CERTIFICATE_RELOAD_LIMIT, delays
    deployment.cert_pem = new_pem  # what the clients trust from now on
    with deployment.client() as balanced:
        statuses = [balanced.get("/mon", auth=admin_auth).status_code for _ in range(GATEWAYS)]
    assert statuses == [200] * GATEWAYS
    assert set(server_states(deployment.stats_socket).values()) == {"UP"}


def test_a_killed_gateway_is_routed_around_and_its_running_job_ends_failed(
    deployment: Deployment, admin_auth: Auth, cluster: DevCluster
) -> None:
    victim = deployment.gateways[-1]
    victim_name = deployment.names[-1]
    with deployment.client(victim.url) as direct, deployment.client() as balanced:
        kept = direct.post("/request?wait=1", json=OSD_STAT, auth=admin_auth).json()
        assert kept["state"] == "success"
        running = direct.post(
            "/request", json=[[slow()], [slow()], [slow()], [slow()]], auth=admin_auth
        ).json()
        assert running["state"] == "pending"
        kill_gateway(deployment.processes[-1])
        killed_at = time.monotonic()
        ask_until(
            lambda: server_states(deployment.stats_socket),
            lambda states: states[victim_name] == "DOWN",
            f"HAProxy sees {victim_name} down",
            limit=15,
        )
        # Once the check noticed, no request fails.
        statuses = [balanced.get("/osd", auth=admin_auth).status_code for _ in range(30)]
        assert statuses == [200] * 30
        ended = ask_until(
            lambda: balanced.get(f"/request/{running['id']}", auth=admin_auth).json(),
            lambda job: job["state"] != "pending",
            "the killed gateway's job ends",
            limit=3 * JOB_LEASE,
        )
        # Within the lease (and the upkeep's third of it) of its last renewal.
        assert time.monotonic() - killed_at < JOB_LEASE + JOB_LEASE / 3 + 5
        assert ended["state"] == "failed"
        assert ended["failed"][-1]["outs"] == (
            f"gateway {victim_name} stopped while this job ran; not run"
        )
        assert (ended["running"], ended["waiting"]) == ([], [])
        # Nothing else is lost: its finished job is still there, through the others.
        assert balanced.get(f"/request/{kept['id']}", auth=admin_auth).json() == kept


def kill_gateway(proc: subprocess.Popen[str]) -> None:
    """SIGKILL granian's worker, then its supervisor: the gateway dies as in a crash, with no
    shutdown of its own (a killed supervisor alone would have its worker stop cleanly)."""
    workers = [
        int(pid) for pid in Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
    ]
    for pid in workers:
        os.kill(pid, signal.SIGKILL)
    proc.kill()
    proc.wait()
    wait_until(lambda: not any(alive(pid) for pid in workers), "its worker is gone", limit=10)


def alive(pid: int) -> bool:
    """Whether the process runs (a zombie, dead but not yet reaped, does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"
