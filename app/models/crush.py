"""Schemas of /crush."""

from __future__ import annotations

from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field

# The module's GET /crush/rule on a test cluster (Pacific, hence ruleset/min_size/max_size).
CRUSH_RULE_EXAMPLE: Final[dict[str, Any]] = {
    "rule_id": 0,
    "rule_name": "replicated_rule",
    "ruleset": 0,
    "type": 1,
    "min_size": 1,
    "max_size": 10,
    "steps": [
        {"op": "take", "item": -1, "item_name": "default"},
        {"op": "choose_firstn", "num": 0, "type": "osd"},
        {"op": "emit"},
    ],
    "osd_count": 3,
}


class CrushRuleStep(BaseModel):
    """One step of a CRUSH rule. Its arguments pass through as Ceph prints them, only those
    the op takes: `item` (bucket id) and `item_name` for take; `num` (0: as many as the pool
    has replicas) and `type` (bucket type name, e.g. host) for choose*; `num` for set_*."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={"examples": CRUSH_RULE_EXAMPLE["steps"]},
    )

    op: str = Field(description="take, choose_firstn, chooseleaf_firstn, *_indep, emit, set_*.")


class CrushRule(BaseModel):
    """A CRUSH rule as in `osd crush dump`, plus the module's `osd_count`.

    `ruleset`, `min_size` and `max_size` are Pacific's: Quincy (17) and later dropped them
    from the dump, and cephgw puts them back with the values Pacific gave the same rule.
    """

    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [CRUSH_RULE_EXAMPLE]})

    rule_id: int = Field(description="Rule id (what a pool's crush_rule refers to).")
    rule_name: str = Field(description="Rule name.")
    ruleset: int = Field(description="Pacific's ruleset: the rule id.")
    type: int = Field(description="1 replicated, 3 erasure-coded.")
    min_size: int = Field(
        description="Smallest pool size the rule is for: 1 (replicated) or 3 (erasure-coded)."
    )
    max_size: int = Field(
        description=(
            "Largest pool size the rule is for: 10 (replicated), or the chunk count k+m of "
            "the erasure-coded pool using it (20 when none does, on Quincy and later)."
        )
    )
    steps: list[CrushRuleStep] = Field(description="The rule's steps, in order.")
    osd_count: int = Field(
        description=(
            "OSDs the rule can reach: every candidate under its take steps (0 for "
            "erasure-coded rules, as in the module, whose walk ignores *_indep steps)."
        )
    )
