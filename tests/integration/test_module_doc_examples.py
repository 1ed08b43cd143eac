"""The restful module's own documentation, run as written against `cephgw serve`.

Its examples send JSON with `curl --data`, which labels a body
`application/x-www-form-urlencoded`; the module read every body as JSON whatever its type,
and so does the gateway. The commands below are the documentation's, with only the host,
port and key filled in.
"""

from __future__ import annotations

import json
import shlex
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from cli.dev_cluster import DevCluster
from tests.support.cluster import ceph_cli, ceph_cli_json
from tests.support.server import Gateway, serve_tls, shown_on_failure

pytestmark = pytest.mark.integration

Auth = tuple[str, str]


@pytest.fixture(scope="module")
def gateway(
    cluster: DevCluster, admin_auth: Auth, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Gateway]:
    log = tmp_path_factory.mktemp("doc-examples") / "serve.log"
    with serve_tls(cluster, "docexamples", admin_auth, log) as gw, shown_on_failure(gw):
        yield gw


def shell(command: str) -> tuple[int, Any]:
    """Run a shell line as a user types it; (HTTP status, parsed JSON body)."""
    # -w appends the status on a line of its own after the body.
    r = subprocess.run(
        ["bash", "-c", command + " -w '\\n%{http_code}'"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    body, _, status = r.stdout.rpartition("\n")
    return int(status), json.loads(body)


def doc_patch_osd(gateway: Gateway, auth: Auth, body: str, osd_id: int) -> tuple[int, Any]:
    # The documentation's line, with `?wait=1` so that the job's end can be checked.
    return shell(
        f"echo -En {shlex.quote(body)} | curl --request PATCH --data @- --silent --insecure "
        f"--user {shlex.quote(':'.join(auth))} '{gateway.url}/osd/{osd_id}?wait=1'"
    )


def osd_in(cluster: DevCluster, osd_id: int) -> int:
    osds = ceph_cli_json(cluster, "osd", "dump")["osds"]
    return int(next(o["in"] for o in osds if o["osd"] == osd_id))


def test_curl_with_the_key_in_the_url(gateway: Gateway, admin_auth: Auth) -> None:
    name, key = admin_auth
    host = gateway.url.removeprefix("https://")
    status, servers = shell(f"curl -s -k https://{name}:{key}@{host}/server")
    assert status == 200
    hosts = {s["hostname"] for s in servers}
    assert hosts, servers
    assert all(s["services"] for s in servers)


def test_patch_up_true_with_curl_data_is_the_module_refusal(
    gateway: Gateway, admin_auth: Auth, cluster: DevCluster
) -> None:
    before = ceph_cli_json(cluster, "osd", "dump")["epoch"]
    status, body = doc_patch_osd(gateway, admin_auth, '{"up": true}', 1)
    assert (status, body) == (400, {"message": "It is not valid to set a down OSD to be up"})
    assert ceph_cli_json(cluster, "osd", "dump")["epoch"] == before


def test_patch_in_false_with_curl_data_marks_it_out(
    gateway: Gateway, admin_auth: Auth, cluster: DevCluster
) -> None:
    try:
        status, job = doc_patch_osd(gateway, admin_auth, '{"in": false}', 1)
        assert status == 200, job
        assert job["state"] == "success", job
        assert [c["command"] for c in job["finished"]] == ["osd out ids=['1']"]
        assert osd_in(cluster, 1) == 0
    finally:
        ceph_cli(cluster, "osd", "in", "1")
    assert osd_in(cluster, 1) == 1


def test_request_and_config_osd_with_curl_data(
    gateway: Gateway, admin_auth: Auth, cluster: DevCluster
) -> None:
    user = shlex.quote(":".join(admin_auth))
    status, job = shell(
        """echo -En '{"prefix": "osd stat", "format": "json"}' | curl --data @- -s -k """
        f"--user {user} '{gateway.url}/request?wait=1'"
    )
    assert status == 200, job
    assert job["state"] == "success", job
    osd_stat = json.loads(job["finished"][0]["outb"])
    assert osd_stat["num_osds"] == len(ceph_cli_json(cluster, "osd", "dump")["osds"])

    try:
        status, job = shell(
            """echo -En '{"noscrub": true}' | curl --request PATCH --data @- -s -k """
            f"--user {user} '{gateway.url}/config/osd?wait=1'"
        )
        assert status == 200, job
        assert job["state"] == "success", job
        assert "noscrub" in ceph_cli_json(cluster, "osd", "dump")["flags_set"]
    finally:
        ceph_cli(cluster, "osd", "unset", "noscrub")


def test_a_body_that_is_not_json_is_a_400_naming_the_problem(
    gateway: Gateway, admin_auth: Auth
) -> None:
    user = shlex.quote(":".join(admin_auth))
    status, body = shell(
        f"curl --data 'name=x&pg_num=8' -s -k --user {user} '{gateway.url}/pool?wait=1'"
    )
    assert status == 400
    assert body["message"].startswith("the request body is not JSON: "), body
    assert "at character 0" in body["message"], body
