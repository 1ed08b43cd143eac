"""GET /crush/rule against a real cluster, checked with Ceph's own CLI."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from cli.dev_cluster import DevCluster
from tests.support.cluster import ceph_cli_json

pytestmark = pytest.mark.integration

FIRSTN_OPS = {"choose_firstn", "chooseleaf_firstn"}


def test_rules_are_ceph_rules_plus_osd_count(
    client: TestClient, read_only_auth: tuple[str, str], cluster: DevCluster
) -> None:
    response = client.get("/crush/rule", auth=read_only_auth)
    assert response.status_code == 200
    rules = response.json()
    theirs = ceph_cli_json(cluster, "osd", "crush", "rule", "dump")
    assert [r["rule_name"] for r in rules] == [r["rule_name"] for r in theirs]
    assert "replicated_rule" in [r["rule_name"] for r in rules]
    for ours, rule in zip(rules, theirs, strict=True):
        # Every key of Ceph's rule, unchanged, plus osd_count; where the release dropped
        # Pacific's ruleset/min_size/max_size (Quincy on), those with Pacific's values.
        pacific = {"ruleset": rule["rule_id"], "min_size": 1, "max_size": 10}
        assert {k: v for k, v in ours.items() if k != "osd_count"} == {**pacific, **rule}
        assert type(ours["osd_count"]) is int


def test_osd_count_is_every_osd_under_the_taken_buckets(
    client: TestClient, admin_auth: tuple[str, str], cluster: DevCluster
) -> None:
    """For take/choose*_firstn/emit rules (every OSD under a host, as in a dev cluster) the
    module counts each OSD under the rule's take buckets; erasure-coded rules count 0."""
    for rule in client.get("/crush/rule", auth=admin_auth).json():
        expected: set[int] = set()
        if {s["op"] for s in rule["steps"]} & FIRSTN_OPS:
            for step in rule["steps"]:
                if step["op"] == "take":
                    listed = ceph_cli_json(cluster, "osd", "ls-tree", step["item_name"])
                    expected |= {int(i) for i in listed}
        assert rule["osd_count"] == len(expected), rule["rule_name"]


def test_default_rule_reaches_every_osd(
    client: TestClient, admin_auth: tuple[str, str], cluster: DevCluster
) -> None:
    rules = {r["rule_name"]: r for r in client.get("/crush/rule", auth=admin_auth).json()}
    osd_count = len(ceph_cli_json(cluster, "osd", "ls"))
    assert rules["replicated_rule"]["osd_count"] == osd_count
