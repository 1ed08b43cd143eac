"""The tests' own waiting helpers (tests/support): what they return, and how they fail."""

from __future__ import annotations

import itertools

import pytest

from tests.support import ask_until, wait_until


def test_wait_until_returns_the_first_true_result() -> None:
    answers = iter([0, None, "", "done", "later"])
    assert wait_until(lambda: next(answers), "an answer", limit=5, interval=0) == "done"


def test_wait_until_fails_with_what_it_waited_for_and_the_detail() -> None:
    calls = itertools.count()
    with pytest.raises(AssertionError) as failed:
        wait_until(lambda: next(calls) < 0, "never", limit=0.05, interval=0.01, detail=lambda: 42)
    assert str(failed.value) == "timed out after 0.05 s waiting until never:\n42"
    assert next(calls) > 1  # asked more than once
    with pytest.raises(AssertionError, match=r"^timed out after 0\.01 s waiting until never$"):
        wait_until(lambda: False, "never", limit=0.01, interval=0.01)


def test_ask_until_returns_the_accepted_answer_even_a_false_one() -> None:
    answers = iter([3, 2, 1, 0, -1])
    assert ask_until(lambda: next(answers), lambda n: n == 0, "zero", limit=5, interval=0) == 0


def test_ask_until_shows_the_last_answer() -> None:
    answers = itertools.count()
    with pytest.raises(AssertionError) as failed:
        ask_until(
            lambda: next(answers),
            lambda n: n < 0,
            "a negative number",
            limit=0.05,
            interval=0.01,
            show=lambda n: f"last {n}",
        )
    message = str(failed.value)
    assert message.startswith("timed out after 0.05 s waiting until a negative number:\nlast ")
    assert int(message.rsplit(" ", 1)[1]) == next(answers) - 1
