"""Pure code of the /pool writes: the module's command waves, and the bodies' validation."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from app.ceph.commands import humanize_command
from app.ceph.pool import (
    POOL_ARGS,
    POOL_PROPERTIES_1,
    POOL_PROPERTIES_2,
    POOL_QUOTA_PROPERTIES,
    create_commands,
    delete_commands,
    find_pool_by_name,
    pool_set_value,
    resolve_crush_rule,
    update_commands,
)
from app.errors import BadRequest
from app.jobs import Job
from app.models.pool import PoolCreate, PoolUpdate
from tests.support.jobs import MODULE_POST_POOL_NOWAIT

RULES = [
    {"rule_id": 0, "rule_name": "replicated_rule"},
    {"rule_id": 3, "rule_name": "fast"},
]


def pool_set(var: str, val: str, **extra: Any) -> dict[str, Any]:
    return {"prefix": "osd pool set", "pool": "p", "var": var, "val": val, **extra}


# -- command waves -----------------------------------------------------------------------------


def test_pg_num_alone_brings_pgp_num_in_a_second_wave() -> None:
    assert update_commands("p", {"pg_num": 16}) == [
        [pool_set("pg_num", "16")],
        [pool_set("pgp_num", "16")],
    ]


def test_pgp_num_given_is_kept_and_still_second() -> None:
    assert update_commands("p", {"pg_num": 16, "pgp_num": 8}) == [
        [pool_set("pg_num", "16")],
        [pool_set("pgp_num", "8")],
    ]
    assert update_commands("p", {"pgp_num": 8}) == [[], [pool_set("pgp_num", "8")]]


def test_every_argument_in_the_modules_order() -> None:
    args = {
        "quota_max_objects": 10,
        "hashpspool": False,
        "crush_rule": "fast",
        "min_size": 1,
        "size": 2,
        "quota_max_bytes": 4096,
    }
    first, second = update_commands("p", args)
    assert first == [
        pool_set("size", "2"),
        pool_set("crush_rule", "fast"),
        pool_set("hashpspool", "false", yes_i_really_mean_it=True),
        {"prefix": "osd pool set-quota", "pool": "p", "field": "max_bytes", "val": "4096"},
        {"prefix": "osd pool set-quota", "pool": "p", "field": "max_objects", "val": "10"},
    ]
    # The mon checks min_size against the current size: it follows a size given with it.
    assert second == [pool_set("min_size", "1")]


def test_min_size_alone_is_first() -> None:
    assert update_commands("p", {"min_size": 2}) == [[pool_set("min_size", "2")], []]
    assert update_commands("p", {"size": 3, "min_size": 2, "pg_num": 16}) == [
        [pool_set("size", "3"), pool_set("pg_num", "16")],
        [pool_set("min_size", "2"), pool_set("pgp_num", "16")],
    ]


def test_values_are_strings_and_booleans_cephs_words() -> None:
    # Pacific refuses a JSON number or bool as `val` ("bad or missing field 'val'").
    assert pool_set_value(3) == "3"
    assert pool_set_value(True) == "true"
    assert pool_set_value(False) == "false"
    assert pool_set_value("replicated_rule") == "replicated_rule"
    for wave in update_commands("p", {"size": 3, "hashpspool": True, "quota_max_bytes": 0}):
        for command in wave:
            assert isinstance(command["val"], str)


def test_the_callers_args_are_not_changed() -> None:
    args = {"pg_num": 32}
    update_commands("p", args)
    assert args == {"pg_num": 32}


def test_unknown_argument_is_refused() -> None:
    with pytest.raises(BadRequest) as caught:
        update_commands("p", {"size": 2, "bogus": 1})
    assert "bogus" in caught.value.message
    assert set(POOL_ARGS) == {
        "size",
        "min_size",
        "pg_num",
        "pgp_num",
        "crush_rule",
        "hashpspool",
        "quota_max_bytes",
        "quota_max_objects",
    }
    # Each argument the bodies take goes to exactly one command group.
    groups = [*POOL_PROPERTIES_1, *POOL_PROPERTIES_2, *(k for k, _ in POOL_QUOTA_PROPERTIES)]
    assert sorted(groups) == sorted(POOL_ARGS)


def test_create_is_alone_first_and_adds_no_pgp_num() -> None:
    assert create_commands("p", 8, {}) == [
        [{"prefix": "osd pool create", "pool": "p", "pg_num": 8}],
        [],
        [],
    ]
    assert create_commands("p", 8, {"size": 2, "pgp_num": 4}) == [
        [{"prefix": "osd pool create", "pool": "p", "pg_num": 8}],
        [pool_set("size", "2")],
        [pool_set("pgp_num", "4")],
    ]


def test_create_job_reads_like_the_modules_sample() -> None:
    sample = MODULE_POST_POOL_NOWAIT
    job = Job("id", create_commands("sample", 8, {"size": 1}))
    job.start_next_wave()
    shown = job.to_json()
    assert [r["command"] for r in shown["running"]] == [r["command"] for r in sample["running"]]
    assert shown["waiting"] == sample["waiting"]
    for key in ("is_waiting", "is_finished", "has_failed", "state", "finished", "failed"):
        assert shown[key] == sample[key], key


def test_delete_passes_the_confirmations() -> None:
    assert delete_commands("p") == [
        [
            {
                "prefix": "osd pool delete",
                "pool": "p",
                "pool2": "p",
                "yes_i_really_really_mean_it": True,
            }
        ]
    ]
    assert humanize_command(delete_commands("p")[0][0]) == (
        "osd pool delete pool=p pool2=p yes_i_really_really_mean_it=True"
    )


def test_crush_rule_by_id_or_name() -> None:
    assert resolve_crush_rule(RULES, 3) == "fast"
    assert resolve_crush_rule(RULES, 0) == "replicated_rule"
    assert resolve_crush_rule(RULES, "fast") == "fast"
    for unknown, text in ((7, 'id "7"'), ("slow", 'name "slow"'), ("3", 'name "3"')):
        with pytest.raises(BadRequest) as caught:
            resolve_crush_rule(RULES, unknown)
        assert caught.value.status_code == 400
        assert text in caught.value.message


def test_find_pool_by_name() -> None:
    pools = [{"pool": 1, "pool_name": "a"}, {"pool": 2, "pool_name": "b"}]
    assert find_pool_by_name(pools, "b") == pools[1]
    assert find_pool_by_name(pools, "c") is None


# -- bodies ------------------------------------------------------------------------------------


def problems(model: type[PoolCreate] | type[PoolUpdate], body: Any) -> dict[str, str]:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(body)
    return {".".join(str(p) for p in e["loc"]): e["type"] for e in caught.value.errors()}


def test_create_body() -> None:
    body = PoolCreate.model_validate({"name": "x", "pg_num": 8, "size": 2, "crush_rule": 0})
    assert (body.name, body.pg_num) == ("x", 8)
    assert body.pool_args() == {"size": 2, "crush_rule": 0}


def test_create_needs_name_and_pg_num() -> None:
    assert problems(PoolCreate, {}) == {"name": "missing", "pg_num": "missing"}


def test_every_problem_is_listed() -> None:
    found = problems(
        PoolCreate,
        {
            "name": "",
            "pg_num": "8",
            "size": -1,
            "min_size": 0,
            "pgp_num": 0,
            "quota_max_bytes": -5,
            "hashpspool": 1,
            "crush_rule": -1,
            "color": "red",
            "quota_max_objects": None,
        },
    )
    assert found == {
        "name": "string_too_short",
        "pg_num": "int_type",
        "size": "greater_than_equal",
        "min_size": "greater_than_equal",
        "pgp_num": "greater_than_equal",
        "quota_max_bytes": "greater_than_equal",
        "hashpspool": "bool_type",
        "crush_rule": "value_error",
        "color": "extra_forbidden",
        "quota_max_objects": "value_error",
    }


def test_update_body() -> None:
    assert PoolUpdate.model_validate({}).pool_args() == {}
    assert PoolUpdate.model_validate({"pg_num": 16, "hashpspool": True}).pool_args() == {
        "pg_num": 16,
        "hashpspool": True,
    }
    assert problems(PoolUpdate, {"name": "x", "size": 11, "pg_num": True}) == {
        "name": "extra_forbidden",
        "size": "less_than_equal",
        "pg_num": "int_type",
    }


def test_min_size_above_size_is_refused() -> None:
    assert problems(PoolUpdate, {"size": 2, "min_size": 3}) == {"": "value_error"}
    assert PoolUpdate.model_validate({"size": 2, "min_size": 2}).pool_args() == {
        "size": 2,
        "min_size": 2,
    }


def test_crush_rule_is_an_id_or_a_name() -> None:
    assert PoolUpdate.model_validate({"crush_rule": "fast"}).pool_args() == {"crush_rule": "fast"}
    assert PoolUpdate.model_validate({"crush_rule": 2}).pool_args() == {"crush_rule": 2}
    for bad in (True, 1.5, "", [0], {"id": 0}):
        assert problems(PoolUpdate, {"crush_rule": bad}) == {"crush_rule": "value_error"}


def test_schema_shows_no_null_and_no_extras() -> None:
    for model in (PoolCreate, PoolUpdate):
        schema = model.model_json_schema()
        assert schema["additionalProperties"] is False
        text = json.dumps(schema)
        assert '"null"' not in text
        assert schema["properties"]["size"]["type"] == "integer"
    assert PoolCreate.model_json_schema()["required"] == ["pg_num", "name"]
