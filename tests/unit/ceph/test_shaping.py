"""The float trap and the pool renames, on recorded and hand-made JSON."""

from __future__ import annotations

import json

import pytest

from app.ceph.pool import find_pool, shape_pools
from app.ceph.shaping import as_float, shape_pool
from app.errors import NotFound


def test_as_float_turns_ints_only() -> None:
    assert as_float(1) == 1.0
    assert isinstance(as_float(1), float)
    assert as_float(True) is True  # a bool is not a double
    assert as_float("1") == "1"
    assert as_float(0.5) == 0.5


def test_shape_pool_renames_pgp_and_forces_double_options() -> None:
    raw = {
        "pool": 2,
        "pg_placement_num": 32,
        "pg_placement_num_target": 32,
        "options": {"pg_autoscale_bias": 4, "pg_num_min": 1},
        "hit_set_params": {"type": "bloom", "false_positive_probability": 0},
    }
    shaped = shape_pool(raw)
    assert shaped["pgp_num"] == 32
    assert "pg_placement_num" not in shaped
    assert shaped["pg_placement_num_target"] == 32  # the module keeps this name
    assert json.dumps(shaped["options"]) == '{"pg_autoscale_bias": 4.0, "pg_num_min": 1}'
    assert isinstance(shaped["hit_set_params"]["false_positive_probability"], float)
    assert raw["pg_placement_num"] == 32  # the input is not changed


def test_find_pool_not_found_message_is_the_modules() -> None:
    pools = shape_pools({"pools": [{"pool": 1, "pool_name": "a"}]})
    assert find_pool(pools, 1)["pool_name"] == "a"
    with pytest.raises(NotFound, match=r'^Failed to identify the pool id "999"$'):
        find_pool(pools, 999)


def test_read_balance_scores_are_floats_and_its_text_stays() -> None:
    # A Tentacle pool's read_balance as librados prints it: integral doubles come out as ints.
    balance = {
        "score_type": "Fair distribution",
        "score_acting": 1.8799999952316284,
        "score_stable": 1.8799999952316284,
        "optimal_score": 1,
        "raw_score_acting": 1.8799999952316284,
        "raw_score_stable": 1.8799999952316284,
        "primary_affinity_weighted": 1,
        "average_primary_affinity": 1,
        "average_primary_affinity_weighted": 1,
    }
    shaped = shape_pool({"pool": 1, "read_balance": balance})["read_balance"]
    assert shaped["score_type"] == "Fair distribution"
    assert all(type(v) is float for k, v in shaped.items() if k != "score_type")
    assert shaped["optimal_score"] == 1.0
