"""A gateway's /metrics (Prometheus text) read through prometheus_client's own parser, never by
hand: for the tests, and for bench/soak.py."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

Labels = dict[str, str]


def samples(text: str, name: str) -> list[tuple[Labels, float]]:
    """Every sample called `name` in an exposition, with its labels."""
    return [
        (dict(s.labels), s.value)
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == name
    ]


def total(text: str, name: str, **labels: str) -> float:
    """The samples called `name` that have these labels (and any others) added up."""
    return sum(value for ls, value in samples(text, name) if labels.items() <= ls.items())
