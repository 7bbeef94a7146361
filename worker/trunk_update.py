"""Updates: `submit --update-existing` (op `upsert`) and a reviewed plan's rows (op `apply`).

Only the fields that differ are sent (`trunk/update`); an apply sends nothing when the trunk
changed since its plan read it. What an update replaces is kept with the item before it leaves
(`old_values`, never in a report), for a rollback.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from jobs.operations import OLD_VALUES_FIELD
from jobs.records import Item
from jobs.states import State
from trunks.compare import KEY_FIELD, changes, conflicts, drifted, masked, values_of
from worker.item_outcomes import (
    ItemOutcomes,
    located,
    recorded_changes,
    type_conflict_reason,
)
from worker.pbx.connection import PbxConnection

T = TypeVar("T")
# The create path of worker.delivery; True: this run looked the name up already.
Create = Callable[[bool], Awaitable[T]]
CHANGED_SINCE_PLAN = "changed on the PBX since the plan read it"


class TrunkUpdate:
    """Carries out upsert and apply items."""

    def __init__(self, outcomes: ItemOutcomes) -> None:
        self._outcomes = outcomes

    async def upsert(self, item: Item, pbx: PbxConnection, create: Create[T]) -> T | State:
        """Create the trunk, or update the fields of it that differ from the row."""
        if item.maybe_sent:  # a create of this job may have landed: the create path looks
            return await create(False)
        await self._outcomes.running(item)
        row = item.body or {}
        trunk_id, detail = await located(pbx, item.name)
        if trunk_id is None or detail is None:
            return await create(True)
        fixed = conflicts(row, detail)
        if fixed:
            reason = type_conflict_reason(item.name, fixed, detail)
            return await self._outcomes.refuse(item, reason, trunk_id)
        return await self.update(item, pbx, trunk_id, detail)

    async def apply(self, item: Item, pbx: PbxConnection, create: Create[T]) -> T | State:
        """Do what the item's plan row says, unless its trunk changed since the plan read it."""
        planned: Mapping[str, Any] = item.op_data or {}
        if planned.get("action") == "create":
            return await self._apply_create(item, pbx, create)
        await self._outcomes.running(item)
        trunk_id = int(planned["trunk_id"])
        detail = await pbx.get_trunk(trunk_id)
        if detail is None or detail.get(KEY_FIELD) != item.name:
            reason = f"{CHANGED_SINCE_PLAN}: trunk {trunk_id} is no longer {item.name!r} there"
            return await self._outcomes.refuse(item, reason)
        row = item.body or {}
        if item.write_sent and item.old_values is not None and not changes(row, detail):
            return await self._updated(item, trunk_id, recorded_changes(item.old_values, row))
        seen: Mapping[str, Any] = planned.get("seen") or {}
        moved = drifted(seen, seen, detail)
        if moved:
            reason = f"{CHANGED_SINCE_PLAN}: {', '.join(moved)}"
            return await self._outcomes.refuse(item, reason, trunk_id)
        if planned.get("action") == "same":
            return await self._outcomes.finish(item, State.EXISTS, trunk_id=trunk_id)
        return await self.update(item, pbx, trunk_id, detail)

    async def _apply_create(self, item: Item, pbx: PbxConnection, create: Create[T]) -> T | State:
        if item.maybe_sent:
            return await create(False)
        await self._outcomes.running(item)
        trunk_id = await pbx.find_trunk(item.name)
        if trunk_id is not None:
            reason = f"{CHANGED_SINCE_PLAN}: a trunk named {item.name!r} was made there"
            return await self._outcomes.refuse(item, reason, trunk_id)
        return await create(True)

    async def update(
        self, item: Item, pbx: PbxConnection, trunk_id: int, detail: Mapping[str, Any]
    ) -> State:
        """Send the row's fields that differ from `detail` (as just read): `updated`; none differ:
        `exists`, or `updated` when this item's own update, its answer lost, made them so."""
        row = item.body or {}
        found = changes(row, detail)
        if not found:
            if item.write_sent and item.old_values is not None:
                return await self._updated(item, trunk_id, recorded_changes(item.old_values, row))
            return await self._outcomes.finish(item, State.EXISTS, trunk_id=trunk_id)
        old_values = values_of(found, detail)
        before_send = self._outcomes.before_send(item, **{OLD_VALUES_FIELD: old_values})
        await pbx.update_trunk(trunk_id, {field: row[field] for field in found}, before_send)
        return await self._updated(item, trunk_id, found)

    async def _updated(self, item: Item, trunk_id: int, found: Mapping[str, Any]) -> State:
        return await self._outcomes.finish(
            item, State.UPDATED, trunk_id=trunk_id, detail=masked(found)
        )
