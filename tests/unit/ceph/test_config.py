"""/config shaping: OSD map flags, the active mgr, one option of its configuration."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any, cast

import anyio
import pytest
from pydantic import ValidationError

from app.ceph import config as config_ceph
from app.ceph.client import CephClient
from app.ceph.config import (
    OSD_FLAGS,
    active_mgr_name,
    config_option,
    osd_flag_commands,
    osd_flags,
)
from app.errors import BadRequest, NotFound, ServiceUnavailable
from app.models.config import ClusterConfig, OsdFlags, OsdFlagsUpdate
from tests.support import load_sample
from tests.support.maps import run_on_maps


@pytest.mark.parametrize("scenario", ["pacific_3osd", "pacific_mixed"])
def test_flags_match_the_module(scenario: str) -> None:
    flags = load_sample(f"osd_dump.{scenario}.json")["flags"]
    assert osd_flags(flags) == load_sample(f"GET_config_osd.{scenario}.json")


def test_pause_replaces_its_two_halves() -> None:
    assert osd_flags("pauserd,pausewr,noup,sortbitwise") == ["pause", "noup", "sortbitwise"]
    # Only both together are the `pause` flag a client can set.
    assert osd_flags("pauserd,sortbitwise") == ["pauserd", "sortbitwise"]
    assert osd_flags("pausewr") == ["pausewr"]


def test_no_flags_is_a_list_with_one_empty_string() -> None:
    # What the module's "".split(",") gives; kept for compatibility.
    assert osd_flags("") == [""]


def test_flag_model_keeps_the_list() -> None:
    assert OsdFlags.model_validate([""]).model_dump() == [""]


def test_active_mgr_name() -> None:
    stat = {"epoch": 4, "available": True, "active_name": "x", "num_standby": 0}
    assert active_mgr_name(stat) == "x"
    # A mgr still loading its modules answers admin commands already.
    assert active_mgr_name({**stat, "available": False}) == "x"
    for no_mgr in ({**stat, "active_name": ""}, {"epoch": 1, "available": False}):
        with pytest.raises(ServiceUnavailable) as caught:
            active_mgr_name(no_mgr)
        assert caught.value.status_code == 503


def test_config_option_matches_the_module() -> None:
    config = load_sample("GET_config_cluster.json")
    option = config_option(config, "osd_pool_default_size")
    assert option == load_sample("GET_config_cluster_osd_pool_default_size.json")
    assert config_option(config, "name") == config["name"]


def test_unknown_option_is_404() -> None:
    # Deliberate difference: the module answers `null` with 200.
    with pytest.raises(NotFound) as caught:
        config_option({"a": "1"}, "no_such_option")
    assert caught.value.status_code == 404
    assert caught.value.message == 'Failed to identify the configuration option "no_such_option"'


def test_cluster_config_model_accepts_every_recorded_option() -> None:
    config = load_sample("GET_config_cluster.json")
    assert len(config) > 1000
    assert ClusterConfig.model_validate(config).model_dump() == config


class FakeCeph:
    """Answers `mgr stat` and the mgr's `config show`, recording where each went."""

    def __init__(self, active_name: str) -> None:
        self.active_name = active_name
        self.config = load_sample("GET_config_cluster.json")
        self.asked: list[tuple[str, str, str | None]] = []

    async def mon_json(self, command: Mapping[str, Any], target: str | None = None) -> Any:
        self.asked.append(("mon", command["prefix"], target))
        assert command["prefix"] == "mgr stat"
        return {"epoch": 9, "available": True, "active_name": self.active_name}

    async def mgr_json(self, command: Mapping[str, Any], target: str | None = None) -> Any:
        self.asked.append(("mgr", command["prefix"], target))
        assert command["prefix"] == "config show"
        return copy.deepcopy(self.config)


def test_cluster_config_asks_the_active_mgr() -> None:
    fake = FakeCeph("y")
    config = anyio.run(config_ceph.cluster_config, cast(CephClient, fake))
    assert config == fake.config
    assert fake.asked == [("mon", "mgr stat", None), ("mgr", "config show", "y")]


def test_cluster_config_option_unknown_is_404() -> None:
    fake = FakeCeph("x")
    option = run_on_maps(fake, config_ceph.get_cluster_config_option, "osd_pool_default_size")
    assert option == "1"
    assert run_on_maps(fake, config_ceph.get_cluster_config) == fake.config
    with pytest.raises(NotFound):
        run_on_maps(fake, config_ceph.get_cluster_config_option, "nope")


# -- writes: OSD flags -------------------------------------------------------------------------


def test_flag_commands_set_and_unset_in_the_modules_flag_order() -> None:
    assert osd_flag_commands({"nodeep-scrub": False, "noout": True, "pause": True}) == [
        [
            {"prefix": "osd set", "key": "pause"},
            {"prefix": "osd set", "key": "noout"},
            {"prefix": "osd unset", "key": "nodeep-scrub"},
        ]
    ]
    assert osd_flag_commands({}) == [[]]


def test_every_module_flag_is_accepted() -> None:
    assert OSD_FLAGS == (
        "pause",
        "noup",
        "nodown",
        "noout",
        "noin",
        "nobackfill",
        "norecover",
        "noscrub",
        "nodeep-scrub",
    )
    [wave] = osd_flag_commands(dict.fromkeys(OSD_FLAGS, False))
    assert [c["key"] for c in wave] == list(OSD_FLAGS)
    assert {c["prefix"] for c in wave} == {"osd unset"}


def test_unknown_flags_are_400_naming_each_and_nothing_else() -> None:
    with pytest.raises(BadRequest) as caught:
        osd_flag_commands({"noout": True, "pauserd": True, "nodeep_scrub": False})
    assert caught.value.status_code == 400
    assert '"pauserd"' in caught.value.message
    assert '"nodeep_scrub"' in caught.value.message
    assert '"noout"' not in caught.value.message


def test_flags_body() -> None:
    body = OsdFlagsUpdate.model_validate({"nodeep-scrub": True, "pause": False, "bogus": 1})
    # Unknown keys pass the model, to be refused with a 400 naming them.
    assert body.flags() == {"pause": False, "nodeep-scrub": True, "bogus": 1}
    assert OsdFlagsUpdate.model_validate({"nodeep_scrub": True}).flags() == {"nodeep_scrub": True}
    with pytest.raises(ValidationError) as caught:
        OsdFlagsUpdate.model_validate({"noout": "yes", "noup": 1, "pause": None})
    assert {e["loc"][0] for e in caught.value.errors()} == {"noout", "noup", "pause"}
    schema = OsdFlagsUpdate.model_json_schema()
    assert "nodeep-scrub" in schema["properties"]
    assert schema["additionalProperties"] is False
