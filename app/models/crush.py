"""Schemas of /crush."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class CrushRuleStep(BaseModel):
    """One step of a CRUSH rule; its arguments (item, item_name, num, type) pass through."""

    model_config = ConfigDict(extra="allow")

    op: str = Field(description="take, choose_firstn, chooseleaf_firstn, *_indep, emit, set_*.")


class CrushRule(BaseModel):
    """A CRUSH rule as in `osd crush dump`, plus the module's `osd_count`.

    Pacific also carries `ruleset`, `min_size` and `max_size`; Quincy (17) and later drop
    them, so they pass through untyped.
    """

    model_config = ConfigDict(extra="allow")

    rule_id: int = Field(description="Rule id (what a pool's crush_rule refers to).")
    rule_name: str = Field(description="Rule name.")
    type: int = Field(description="1 replicated, 3 erasure-coded.")
    steps: list[CrushRuleStep] = Field(description="The rule's steps, in order.")
    osd_count: int = Field(
        description=(
            "OSDs the rule can reach: every candidate under its take steps (0 for "
            "erasure-coded rules, as in the module, whose walk ignores *_indep steps)."
        )
    )
