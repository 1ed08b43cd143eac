"""/server shaping, from metadata recorded on a dev cluster and the module's own answers."""

from __future__ import annotations

import errno
from collections.abc import Mapping
from typing import Any

from app.ceph.server import (
    Daemon,
    core_daemons,
    find_server,
    list_servers,
    service_daemons,
    shape_server,
    shape_servers,
)
from app.errors import CephError
from tests.support import load_sample
from tests.support.maps import run_on_maps

V16 = "ceph version 16.2.15 (618f440892089921c3e944a991122ddc44e60516) pacific (stable)"
V18 = "ceph version 18.2.4 (e7ad5345525c7aa95470c26863873b581076945d) reef (stable)"


def recorded_daemons() -> list[Daemon]:
    daemons = []
    for daemon_type in ("mon", "mgr", "osd", "mds"):
        daemons += core_daemons(daemon_type, load_sample(f"{daemon_type}_metadata.json"))
    return daemons + service_daemons(load_sample("service_dump.json"))


def test_recorded_metadata_gives_the_module_answer() -> None:
    # The samples were recorded on a host named `vm` with Ceph 16.2.15, like the module's.
    assert shape_servers(recorded_daemons()) == load_sample("GET_server.json")


def test_one_host_is_the_module_answer() -> None:
    servers = shape_servers(recorded_daemons())
    assert find_server(servers, "vm") == load_sample("GET_server_vm.json")


def test_unknown_host_is_an_empty_one() -> None:
    assert find_server(shape_servers(recorded_daemons()), "nohost") == {
        "hostname": "nohost",
        "services": [],
        "ceph_version": "",
    }


def osd(osd_id: int, host: str, version: str | None = V16) -> dict[str, Any]:
    entry: dict[str, Any] = {"id": osd_id, "hostname": host}
    if version is not None:
        entry["ceph_version"] = version
    return entry


def test_hosts_sorted_by_name_and_services_by_type_then_id_as_strings() -> None:
    daemons = core_daemons("osd", [osd(2, "b"), osd(10, "b"), osd(1, "a")])
    daemons += core_daemons("mon", [{"name": "z", "hostname": "b", "ceph_version": V16}])
    servers = shape_servers(daemons)
    assert [s["hostname"] for s in servers] == ["a", "b"]
    assert [(x["type"], x["id"]) for x in servers[1]["services"]] == [
        ("mon", "z"),
        ("osd", "10"),
        ("osd", "2"),
    ]


def test_ceph_version_is_a_running_value_and_the_host_takes_the_last() -> None:
    daemons = core_daemons("osd", [osd(0, "h", V18), osd(1, "h", None), osd(2, "h", V16)])
    [server] = shape_servers(daemons)
    assert [s["ceph_version"] for s in server["services"]] == [V18, V18, V16]
    assert server["ceph_version"] == V16


def test_first_daemon_without_version_shows_empty() -> None:
    assert shape_server("h", core_daemons("osd", [osd(0, "h", None)]))["services"] == [
        {"type": "osd", "id": "0", "ceph_version": ""}
    ]


def test_daemons_without_metadata_are_left_out() -> None:
    # `osd metadata` lists an OSD it holds no metadata for with its id only.
    assert [d.id for d in core_daemons("osd", [{"id": 0}, osd(1, "h")])] == ["1"]


def test_service_daemons_come_from_the_service_map_with_their_name() -> None:
    service_dump = {
        "epoch": 5,
        "services": {
            "rgw": {
                "daemons": {
                    "summary": "",
                    "4235": {"gid": 4235, "metadata": {"hostname": "gw", "id": "gw1"}},
                    "4236": {"gid": 4236, "metadata": {}},
                }
            },
            "rbd-mirror": {"daemons": {"summary": ""}},
        },
    }
    [rgw] = service_daemons(service_dump)
    assert (rgw.type, rgw.id, rgw.name) == ("rgw", "4235", "gw1")
    [server] = shape_servers([rgw])
    assert server == {
        "hostname": "gw",
        "services": [{"type": "rgw", "id": "4235", "ceph_version": "", "name": "gw1"}],
        "ceph_version": "",
    }


def test_empty_or_missing_service_map_adds_nothing() -> None:
    assert service_daemons({}) == []
    assert service_daemons({"services": {}}) == []


def test_a_daemon_listed_twice_is_shown_once() -> None:
    first = Daemon("rgw", "1", {"hostname": "h", "ceph_version": V16})
    second = Daemon("rgw", "1", {"hostname": "h", "ceph_version": V18})
    [server] = shape_servers([first, second])
    assert server["services"] == [{"type": "rgw", "id": "1", "ceph_version": V16}]


# -- the calls, against a fake client -----------------------------------------------------------

RGW_DUMP = {
    "services": {"rgw": {"daemons": {"4235": {"metadata": {"hostname": "gw", "id": "gw1"}}}}}
}


class FakeCeph:
    """Answers `<type> metadata` from the recorded samples; the mgr as configured."""

    def __init__(self, mgr_available: bool = True, service_dump: Any = None) -> None:
        self.mgr_available = mgr_available
        self.service_dump = service_dump
        self.mgr_commands: list[str] = []

    async def mon_json(self, command: Mapping[str, Any], target: str | None = None) -> Any:
        prefix = command["prefix"]
        if prefix == "mgr stat":
            return {"available": self.mgr_available, "active_name": "x"}
        return load_sample(prefix.replace(" ", "_") + ".json")

    async def mgr_json(self, command: Mapping[str, Any], target: str | None = None) -> Any:
        self.mgr_commands.append(command["prefix"])
        if isinstance(self.service_dump, Exception):
            raise self.service_dump
        return self.service_dump


def servers_from(fake: FakeCeph) -> list[dict[str, Any]]:
    servers: list[dict[str, Any]] = run_on_maps(fake, list_servers)
    return servers


def test_list_servers_joins_metadata_and_the_service_map() -> None:
    fake = FakeCeph(service_dump=RGW_DUMP)
    servers = servers_from(fake)
    assert [s["hostname"] for s in servers] == ["gw", "vm"]
    assert servers[1] == load_sample("GET_server_vm.json")
    assert fake.mgr_commands == ["service dump"]


def test_without_an_active_mgr_the_service_map_is_not_asked_for() -> None:
    # Asking would wait for the whole timeout; the mons' metadata still answers.
    fake = FakeCeph(mgr_available=False, service_dump=RGW_DUMP)
    assert servers_from(fake) == load_sample("GET_server.json")
    assert fake.mgr_commands == []


def test_a_failing_service_dump_only_drops_the_service_daemons() -> None:
    fake = FakeCeph(service_dump=CephError(errno.ETIMEDOUT, "timed out"))
    assert servers_from(fake) == load_sample("GET_server.json")
