"""Pure helpers shared by the resource modules: undo the differences librados JSON has from
the mgr's in-process maps, so answers match the restful module's JSON."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

from app.errors import NotFound

Entry = TypeVar("Entry", bound=Mapping[str, Any])

# Pool options Ceph stores as doubles; librados JSON prints an integral double as an int.
POOL_FLOAT_OPTIONS = frozenset(
    {
        "pg_autoscale_bias",
        "target_size_ratio",
        "compression_required_ratio",
        "read_lease_interval",
    }
)


# A pool's `read_balance` (Reef on): scores and affinities, all doubles; Tentacle adds the
# text `score_type`.
READ_BALANCE_FLOATS = frozenset(
    {
        "score_acting",
        "score_stable",
        "optimal_score",
        "raw_score_acting",
        "raw_score_stable",
        "primary_affinity_weighted",
        "average_primary_affinity",
        "average_primary_affinity_weighted",
    }
)


def as_float(value: Any) -> Any:
    """A C++ double that librados printed as `1` reads back as an int; the module shows `1.0`."""
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def shape_pool(pool: dict[str, Any]) -> dict[str, Any]:
    """One `osd dump` pool as the module shows it."""
    shaped = dict(pool)
    if "pg_placement_num" in shaped:
        shaped["pgp_num"] = shaped.pop("pg_placement_num")
    options = shaped.get("options")
    if isinstance(options, dict):
        shaped["options"] = {
            k: as_float(v) if k in POOL_FLOAT_OPTIONS else v for k, v in options.items()
        }
    balance = shaped.get("read_balance")
    if isinstance(balance, dict):
        shaped["read_balance"] = {
            k: as_float(v) if k in READ_BALANCE_FLOATS else v for k, v in balance.items()
        }
    params = shaped.get("hit_set_params")
    if isinstance(params, dict) and "false_positive_probability" in params:
        shaped["hit_set_params"] = {
            **params,
            "false_positive_probability": as_float(params["false_positive_probability"]),
        }
    return shaped


def find_entry(entries: Iterable[Entry], key: str, value: Any) -> Entry | None:
    """The first entry whose `key` is `value` (a pool by id or name, an OSD, a mon, a host)."""
    return next((entry for entry in entries if entry.get(key) == value), None)


def find_or_404(entries: Iterable[Entry], key: str, value: Any, message: str) -> Entry:
    """`find_entry`, or 404 with `message` (the module's wording) when there is none."""
    entry = find_entry(entries, key, value)
    if entry is None:
        raise NotFound(message)
    return entry
