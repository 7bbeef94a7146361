"""A plan as `trunkctl plan` shows it, made from its job's report records (pure logic).

A plan is a job of kind `plan` whose items read their trunk (worker.plan_read): a read item that
succeeded holds its row's action, changes and reason in `detail`; one that failed could not
read its PBX (`unreadable`, its errmsg the reason).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from jobs.operations import PLAN_ACTIONS, PlanAction
from jobs.states import State

PLAN_ROW_FIELDS = ("file", "line", "pbx", "name", "action", "trunk_id", "changes", "reason")


def plan_row(record: Mapping[str, Any]) -> dict[str, Any]:
    """One row of a plan from its item's report record."""
    detail = record.get("detail")
    if isinstance(detail, Mapping) and record["state"] == State.SUCCEEDED.value:
        action, changes, reason = (
            detail["action"],
            detail.get("changes") or {},
            detail.get("reason"),
        )
    else:
        action, changes = PlanAction.UNREADABLE.value, {}
        reason = record.get("errmsg") or f"not read ({record['state']})"
    return {
        "file": record["file"], "line": record["line"], "pbx": record["pbx"],
        "name": record["name"], "action": action, "trunk_id": record.get("trunk_id"),
        "changes": changes, "reason": reason,
    }  # fmt: skip


def plan_json(plan_id: str, records: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The `plan --json` object: {"plan_id", "counts": {action: n}, "pbxs": {pbx: {action: n}},
    "rows": [...]}."""
    rows = [plan_row(record) for record in records]
    counts = {action.value: 0 for action in PLAN_ACTIONS}
    pbxs: dict[str, dict[str, int]] = {}
    for row in rows:
        counts[row["action"]] = counts.get(row["action"], 0) + 1
        per_pbx = pbxs.setdefault(row["pbx"], {})
        per_pbx[row["action"]] = per_pbx.get(row["action"], 0) + 1
    return {"plan_id": plan_id, "counts": counts, "pbxs": dict(sorted(pbxs.items())), "rows": rows}


def fully_planned(plan: Mapping[str, Any]) -> bool:
    """Whether every row of the plan got an action (none unreadable)."""
    return not plan["counts"].get(PlanAction.UNREADABLE.value)
