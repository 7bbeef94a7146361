"""Failures grouped by PBX and reason for the rollout summary."""

from __future__ import annotations

from typing import Any

from jobs.failures import failure_groups


def _record(pbx: str, name: str, state: str, errmsg: str | None, errcode: int | None = None) -> Any:
    return {"pbx": pbx, "name": name, "state": state, "errmsg": errmsg, "errcode": errcode}


def test_groups_by_pbx_state_and_reason_largest_first() -> None:
    records = [
        _record("a", "t1", "succeeded", None),
        _record("b", "t2", "failed", "login refused", -1),
        _record("b", "t3", "failed", "login refused", -1),
        _record("a", "t4", "failed", "PARAMETER ERROR", 40002),
        _record("b", "t5", "rejected", "port: must be at most 65535"),
        _record("b", "t6", "failed", "login refused", -1),
        _record("b", "t7", "failed", "login refused", -1),
        _record("a", "t8", "cancelled", None),
    ]
    groups = failure_groups(records)
    assert [(g.pbx, g.state, g.errcode, g.count) for g in groups] == [
        ("b", "failed", -1, 4), ("a", "failed", 40002, 1), ("b", "rejected", None, 1),
    ]  # fmt: skip
    assert groups[0].names == ["t2", "t3", "t6"]  # the first few only


def test_a_failure_without_a_reason_says_so() -> None:
    (group,) = failure_groups([_record("a", "t1", "failed", None)])
    assert group.reason == "no reason recorded"
