"""Fault rules and plans without I/O: which call a rule fires on, per PBX and endpoint."""

from __future__ import annotations

import pytest

from pbxsim.faults import FAULT_KINDS, PRESETS, FaultPlan, FaultRule, FaultRuleError, preset_rules


def test_nth_fires_once_and_every_fires_periodically() -> None:
    nth = FaultRule("trunk/create", "errcode-2", nth=3)
    every = FaultRule("trunk/create", "errcode-2", every=3)
    assert [n for n in range(1, 10) if nth.fires_on(n)] == [3]
    assert [n for n in range(1, 10) if every.fires_on(n)] == [3, 6, 9]
    both = FaultRule("trunk/create", "slow", nth=1, every=4, slow_ms=5)
    assert [n for n in range(1, 10) if both.fires_on(n)] == [1, 4, 8]
    assert all(FaultRule("x", "http503").fires_on(n) for n in range(1, 5))


def test_applies_to_pbx_and_endpoint_or_any() -> None:
    rule = FaultRule("trunk/create", "http503", pbx="pbx-002")
    assert rule.applies_to("pbx-002", "trunk/create")
    assert not rule.applies_to("pbx-001", "trunk/create")
    assert not rule.applies_to("pbx-002", "trunk/list")
    assert FaultRule("*", "http503").applies_to("pbx-009", "get_token")


def test_plan_counts_every_call_and_first_rule_wins() -> None:
    plan = FaultPlan("pbx-001")
    plan.set_rules(
        [
            FaultRule("trunk/create", "errcode-2", every=2),
            FaultRule("trunk/create", "drop_after", every=3),
            FaultRule("trunk/create", "http503", pbx="pbx-002"),
        ]
    )
    assert len(plan.rules) == 2
    kinds = [getattr(plan.next_call("trunk/create"), "kind", None) for _ in range(6)]
    assert kinds == [None, "errcode-2", "drop_after", "errcode-2", None, "errcode-2"]
    assert plan.next_call("trunk/list") is None
    plan.reset_calls()
    assert plan.next_call("trunk/create") is None


def test_rules_from_json_round_trip() -> None:
    data = {"pbx": "pbx-003", "endpoint": "trunk/create", "kind": "slow", "every": 2, "slow_ms": 9}
    rule = FaultRule.from_json(data)
    assert rule.to_json() == {**data, "nth": None}
    assert FaultRule.from_json(rule.to_json()) == rule
    refusal = {"endpoint": "trunk/delete", "kind": "errcode", "errcode": 70091}
    assert FaultRule.from_json(refusal).to_json()["errcode"] == 70091


@pytest.mark.parametrize(
    "data",
    [
        {"endpoint": "trunk/create", "kind": "explode"},
        {"endpoint": "trunk/create", "kind": "slow", "nth": 0},
        {"endpoint": "trunk/create", "kind": "slow", "every": "2"},
        {"endpoint": "trunk/create", "kind": "slow", "slow_ms": -1},
        {"endpoint": "trunk/create", "kind": "slow", "often": True},
        {"kind": "slow"},
        {"endpoint": "trunk/delete", "kind": "errcode"},
        {"endpoint": "trunk/delete", "kind": "errcode", "errcode": 12345},
        {"endpoint": "trunk/delete", "kind": "errcode", "errcode": "70091"},
        {"endpoint": "trunk/delete", "kind": "slow", "errcode": 70091},
    ],
)
def test_bad_rules_are_refused(data: dict[str, object]) -> None:
    with pytest.raises(FaultRuleError):
        FaultRule.from_json(data)


def test_presets() -> None:
    assert preset_rules("none") == ()
    flaky = preset_rules("flaky")
    assert (flaky[0].kind, flaky[0].every, flaky[1].kind, flaky[1].every) == (
        "errcode-2", 3, "drop_after", 5,
    )  # fmt: skip
    # chaos: every fault a rollout recovers from on its own (access_denied fails the PBX's items
    # for good; after garbled_after, its item is failed until `retry`; errcode answers what a
    # test asks for; hang lasts until lifted).
    recovered = set(FAULT_KINDS) - {"access_denied", "garbled_after", "errcode", "hang"}
    assert {rule.kind for rule in PRESETS["chaos"]} == recovered
    with pytest.raises(FaultRuleError, match="unknown fault preset"):
        preset_rules("storm")


def test_a_hang_holds_while_it_is_set_and_takes_no_call_count() -> None:
    with pytest.raises(FaultRuleError, match="no nth or every"):
        FaultRule.from_json({"endpoint": "*", "kind": "hang", "every": 2})
    plan = FaultPlan("pbx-001")
    hang = FaultRule(endpoint="get_token", kind="hang", pbx="pbx-001")
    plan.set_rules([FaultRule(endpoint="*", kind="hang", pbx="pbx-002"), hang])
    assert plan.hang_rule("get_token") == hang
    assert plan.hang_rule("trunk/create") is None
    plan.set_rules([])
    assert plan.hang_rule("get_token") is None
