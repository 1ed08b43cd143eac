"""The restful module's own settings, looked up in its order."""

from __future__ import annotations

from app.ceph.restful_config import find_module_option, localized_names

DUMP = [
    {"section": "mgr", "name": "mgr/restful/server_port", "value": "9000"},
    {"section": "mgr", "name": "mgr/restful/x/server_port", "value": "9001"},
    {"section": "global", "name": "mgr/restful/server_addr", "value": "10.0.0.1"},
    {"section": "osd", "name": "mgr/restful/server_addr", "value": "ignored"},
]


def test_localized_names_order() -> None:
    assert localized_names("crt", "x") == ["mgr/restful/x/crt", "mgr/restful/crt"]
    assert localized_names("crt", None) == ["mgr/restful/crt"]


def test_per_mgr_option_wins_over_global_one() -> None:
    assert find_module_option(DUMP, "server_port", "x") == "9001"
    assert find_module_option(DUMP, "server_port", "y") == "9000"
    assert find_module_option(DUMP, "server_port", None) == "9000"


def test_option_of_another_section_is_ignored() -> None:
    assert find_module_option(DUMP, "server_addr", None) == "10.0.0.1"
    assert find_module_option(DUMP[:2], "server_addr", None) is None
