"""Pools: reads come from the OSD map of the cluster-state cache; writes are the module's
commands, as waves of a job (app/jobs.py runs them), checked against a fresh OSD map."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pydantic import TypeAdapter

from app.ceph.osd_map import OsdMaps
from app.ceph.shaping import Entry, find_entry, find_or_404, shape_pool
from app.ceph.state import Answer, Reading, answer
from app.errors import BadRequest, Conflict
from app.models.pool import Pool, PoolArgs

if TYPE_CHECKING:
    from app.ceph.maps import ClusterMaps

POOL_LIST = TypeAdapter(list[Pool])
POOL = TypeAdapter(Pool)


def shape_pools(dump: dict[str, Any]) -> list[dict[str, Any]]:
    return [shape_pool(p) for p in dump.get("pools", [])]


def find_pool(pools: Sequence[Entry], pool_id: int) -> Entry:
    return find_or_404(pools, "pool", pool_id, f'Failed to identify the pool id "{pool_id}"')


def _pools(reading: Reading[OsdMaps]) -> list[dict[str, Any]]:
    return reading.snapshot.derive("pools", lambda: shape_pools(reading.value.dump))


async def list_pools(maps: ClusterMaps) -> Answer:
    """Every pool, in the order of the OSD map."""
    reading = await maps.osd.get()
    return answer(reading, "pools", lambda: _pools(reading), POOL_LIST, exclude_unset=True)


async def get_pool(maps: ClusterMaps, pool_id: int) -> Answer:
    """One pool by id; 404 when there is none."""
    reading = await maps.osd.get()
    pool = find_pool(_pools(reading), pool_id)
    return answer(reading, ("pool", pool_id), lambda: pool, POOL, exclude_unset=True)


# -- writes: the module's commands, as waves of a job ------------------------------------------

# `osd pool set` variables of the first wave, and the one that must wait for it: pgp_num may
# not exceed pg_num, so it follows pg_num in a second wave (the module's POOL_PROPERTIES_1/_2).
POOL_PROPERTIES_1 = ("size", "min_size", "pg_num", "crush_rule", "hashpspool")
POOL_PROPERTIES_2 = ("pgp_num",)
# Body key → `osd pool set-quota` field.
POOL_QUOTA_PROPERTIES = (("quota_max_bytes", "max_bytes"), ("quota_max_objects", "max_objects"))
# Every argument the bodies take, as their schema lists them; each is in one group above.
POOL_ARGS: tuple[str, ...] = tuple(PoolArgs.model_fields)


def pool_set_value(value: Any) -> str:
    """The `val` of `osd pool set`: a string, as the mon's command table wants it.

    The module passed the client's JSON value as is; Pacific refuses a number or a bool there
    ("bad or missing field 'val'"). A bool becomes Ceph's `true`/`false`.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _pool_set(pool_name: str, var: str, value: Any) -> dict[str, Any]:
    command: dict[str, Any] = {
        "prefix": "osd pool set",
        "pool": pool_name,
        "var": var,
        "val": pool_set_value(value),
    }
    if var == "hashpspool":
        # Ceph refuses to flip it without this (it remaps every PG of the pool); the client
        # asked for the change by naming the flag.
        command["yes_i_really_mean_it"] = True
    return command


def update_commands(pool_name: str, args: Mapping[str, Any]) -> list[list[dict[str, Any]]]:
    """The module's `pool_update_commands`: `osd pool set` and `set-quota` commands in a first
    wave, then `pgp_num`, which follows `pg_num` when only `pg_num` is given.

    One change to the module's waves: with `size` given too, `min_size` goes in the second
    wave. The mon checks min_size against the size it has; sent at once, the outcome
    depended on which command it took first (size 1 → 3 with min_size 2 failed when
    min_size came first). After a smaller size (the mon lowers min_size to fit), it works
    both ways.

    `args` holds validated pool arguments (POOL_ARGS), crush_rule already a rule name.
    """
    unknown = [key for key in args if key not in POOL_ARGS]
    if unknown:  # the models forbid them; a guard for other callers
        raise BadRequest(f'Invalid arguments found: "{unknown}"')
    values = dict(args)
    if "pg_num" in values and "pgp_num" not in values:
        values["pgp_num"] = values["pg_num"]
    later = {"pgp_num", "min_size"} if "size" in values else {"pgp_num"}
    first: list[dict[str, Any]] = [
        _pool_set(pool_name, var, values[var])
        for var in POOL_PROPERTIES_1
        if var in values and var not in later
    ]
    first += [
        {
            "prefix": "osd pool set-quota",
            "pool": pool_name,
            "field": field,
            "val": str(values[key]),
        }
        for key, field in POOL_QUOTA_PROPERTIES
        if key in values
    ]
    second = [
        _pool_set(pool_name, var, values[var])
        for var in (*POOL_PROPERTIES_1, *POOL_PROPERTIES_2)
        if var in values and var in later
    ]
    return [first, second]


def create_commands(
    pool_name: str, pg_num: int, args: Mapping[str, Any]
) -> list[list[dict[str, Any]]]:
    """`osd pool create` alone in a first wave, then the update waves for the other arguments
    (pgp_num is not added: `osd pool create` sets it to pg_num)."""
    create = {"prefix": "osd pool create", "pool": pool_name, "pg_num": pg_num}
    return [[create], *update_commands(pool_name, args)]


def delete_commands(pool_name: str) -> list[list[dict[str, Any]]]:
    """`osd pool delete` with the confirmations Ceph asks for: DELETE is the confirmation."""
    return [
        [
            {
                "prefix": "osd pool delete",
                "pool": pool_name,
                "pool2": pool_name,
                "yes_i_really_really_mean_it": True,
            }
        ]
    ]


def resolve_crush_rule(rules: Sequence[Mapping[str, Any]], rule: int | str) -> str:
    """The rule name `osd pool set crush_rule` takes, from an id (what GET /pool shows) or a
    name; 400 for a rule that does not exist."""
    for candidate in rules:
        if isinstance(rule, int):
            if candidate.get("rule_id") == rule:
                return str(candidate["rule_name"])
        elif candidate.get("rule_name") == rule:
            return rule
    kind = "id" if isinstance(rule, int) else "name"
    raise BadRequest(f'No CRUSH rule with {kind} "{rule}"')


def find_pool_by_name(pools: Sequence[Mapping[str, Any]], name: str) -> Mapping[str, Any] | None:
    return find_entry(pools, "pool_name", name)


async def _fresh_osd_maps(maps: ClusterMaps) -> OsdMaps:
    # A write checks today's map: a pool made or dropped a moment ago counts.
    return (await maps.osd.get(fresh=True)).value


def _resolved(osd_maps: OsdMaps, args: Mapping[str, Any]) -> dict[str, Any]:
    """`args` with crush_rule turned into a rule name."""
    values = dict(args)
    if "crush_rule" in values:
        rules = osd_maps.crush.get("rules", [])
        values["crush_rule"] = resolve_crush_rule(rules, values["crush_rule"])
    return values


def pool_name(osd_maps: OsdMaps, pool_id: int) -> str:
    """The name of pool `pool_id`; 404 when there is none."""
    return str(find_pool(osd_maps.dump.get("pools", []), pool_id)["pool_name"])


async def create_waves(
    maps: ClusterMaps, name: str, pg_num: int, args: Mapping[str, Any]
) -> list[list[dict[str, Any]]]:
    """The waves creating pool `name`; 400 for an unknown crush rule.

    Creating a pool that exists is what Ceph's own QA flow does, and Ceph answers success:
    with only `name` and `pg_num` the create goes through unchanged (a successful job, the
    pool untouched). With other arguments it is a 409: the module went on and applied them
    to the existing pool, a change nobody asked a create for.
    """
    osd_maps = await _fresh_osd_maps(maps)
    if find_pool_by_name(osd_maps.dump.get("pools", []), name) is not None:
        if args:
            raise Conflict(
                f'The pool "{name}" already exists; change it with PATCH /pool/{{pool_id}}'
            )
        return create_commands(name, pg_num, {})
    return create_commands(name, pg_num, _resolved(osd_maps, args))


async def update_waves(
    maps: ClusterMaps, pool_id: int, args: Mapping[str, Any]
) -> list[list[dict[str, Any]]]:
    """The waves changing pool `pool_id`; 404 when there is none, 400 for an unknown rule."""
    osd_maps = await _fresh_osd_maps(maps)
    return update_commands(pool_name(osd_maps, pool_id), _resolved(osd_maps, args))


async def delete_waves(maps: ClusterMaps, pool_id: int) -> list[list[dict[str, Any]]]:
    """The wave deleting pool `pool_id`; 404 when there is none."""
    return delete_commands(pool_name(await _fresh_osd_maps(maps), pool_id))
