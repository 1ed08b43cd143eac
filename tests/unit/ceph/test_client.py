"""Pure parts of the Ceph client layer."""

from __future__ import annotations

import pytest

from app.ceph.client import CephClient
from app.ceph.commands import humanize_command
from app.errors import ServiceUnavailable
from app.settings import Settings


def test_humanize_command_matches_the_module_form() -> None:
    command = {"prefix": "osd pool set", "pool": "rbd", "var": "size", "val": "2"}
    assert humanize_command(command) == "osd pool set pool=rbd var=size val=2"


def test_humanize_command_keeps_a_callers_format_and_handles_bare_prefix() -> None:
    assert humanize_command({"prefix": "osd dump", "format": "json"}) == "osd dump format=json"
    assert humanize_command({"prefix": "osd dump"}) == "osd dump"


def test_calls_before_connecting_are_503_not_a_hang() -> None:
    client = CephClient(Settings(conf=None))
    with pytest.raises(ServiceUnavailable) as caught:
        client.mon_command({"prefix": "osd dump"})
    assert caught.value.status_code == 503
    assert "cluster unavailable" in caught.value.message
