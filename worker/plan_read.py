"""A plan's look at one row's trunk (op `read`): it reads, never writes.

The item ends `succeeded` with its plan row in `detail` (passwords masked), and what it found kept
as `seen` (never in a report), for `apply` to tell whether the trunk changed since.
"""

from __future__ import annotations

import json
from typing import Any

from jobs.operations import SEEN_FIELD, PlanAction
from jobs.records import Item
from jobs.states import State
from trunks.compare import KEY_FIELD, changes, conflicts, masked, values_of
from worker.item_outcomes import ItemOutcomes, located, type_conflict_reason
from worker.pbx.connection import PbxConnection


def plan_row(
    action: PlanAction, found: dict[str, Any] | None = None, reason: str = ""
) -> dict[str, Any]:
    """The `detail` of a read item: its plan row's action, changes and reason."""
    return {"action": action.value, "changes": found or {}, "reason": reason or None}


class PlanRead:
    """Carries out read items."""

    def __init__(self, outcomes: ItemOutcomes) -> None:
        self._outcomes = outcomes

    async def read(self, item: Item, pbx: PbxConnection) -> State:
        """Look the row's trunk up and record what applying the row would do."""
        await self._outcomes.running(item)
        row = item.body or {}
        trunk_id, detail = await located(pbx, item.name)
        if trunk_id is None or detail is None:
            return await self._outcomes.finish(
                item, State.SUCCEEDED, detail=plan_row(PlanAction.CREATE)
            )
        seen = values_of((field for field in row if field != KEY_FIELD), detail)
        fixed = conflicts(row, detail)
        if fixed:
            row_detail = plan_row(
                PlanAction.CONFLICT, reason=type_conflict_reason(item.name, fixed, detail)
            )
        else:
            found = masked(changes(row, detail))
            row_detail = plan_row(PlanAction.UPDATE if found else PlanAction.SAME, found)
        return await self._outcomes.finish(
            item, State.SUCCEEDED, trunk_id=trunk_id, detail=row_detail,
            extra={SEEN_FIELD: json.dumps(seen, ensure_ascii=False)},
        )  # fmt: skip
