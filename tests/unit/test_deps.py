"""The pure parts of app/deps.py: reading ?wait= as the module did."""

from __future__ import annotations

import pytest

from app.deps import wants_wait


@pytest.mark.parametrize("value", ["1", "yes", "true", "TRUE", "y", "2", "anything"])
def test_wait_values_that_wait(value: str) -> None:
    assert wants_wait(value)


@pytest.mark.parametrize("value", [None, "", "0", "false", "False", "no", "NO", " 0 "])
def test_wait_values_that_do_not(value: str | None) -> None:
    assert not wants_wait(value)
