"""A rollback's items: delete a trunk a job created (op `delete`), give fields a job updated
their old values back (op `restore`).

The trunk is read first: when it no longer holds what the undone job left it with (`op_data`'s
`expect`), the item fails and nothing is sent; a write whose answer was lost is judged by what the
PBX shows, never sent blindly again.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jobs.records import Item
from jobs.states import State
from trunks.compare import KEY_FIELD, changes, drifted, masked
from worker.item_outcomes import ItemOutcomes
from worker.pbx.connection import NO_SUCH_TRUNK, PbxConnection
from worker.pbx.errors import PbxRejectedError


class TrunkRollback:
    """Carries out delete and restore items."""

    def __init__(self, outcomes: ItemOutcomes) -> None:
        self._outcomes = outcomes

    async def delete(self, item: Item, pbx: PbxConnection) -> State:
        """Delete the trunk the job created, unless it changed since."""
        await self._outcomes.running(item)
        undo: Mapping[str, Any] = item.op_data or {}
        trunk_id = int(undo["trunk_id"])
        detail = await pbx.get_trunk(trunk_id)
        if detail is None or detail.get(KEY_FIELD) != item.name:
            if item.write_sent and await pbx.find_trunk(item.name) is None:
                return await self._outcomes.finish(item, State.SUCCEEDED, trunk_id=trunk_id)
            return await self._outcomes.refuse(item, _gone(undo, trunk_id))
        moved = _moved(undo, detail)
        if moved:
            return await self._outcomes.refuse(item, _changed(undo, moved), trunk_id)
        try:
            await pbx.delete_trunk(trunk_id, self._outcomes.before_send(item))
        except PbxRejectedError as exc:
            # "No such trunk" to a delete that may have been sent twice (a dropped GET is
            # replayed by the HTTP client): done, if the name is gone too.
            if exc.errcode != NO_SUCH_TRUNK or await pbx.find_trunk(item.name) is not None:
                raise
        return await self._outcomes.finish(item, State.SUCCEEDED, trunk_id=trunk_id)

    async def restore(self, item: Item, pbx: PbxConnection) -> State:
        """Give the fields the job updated their old values back, unless they changed since."""
        await self._outcomes.running(item)
        undo: Mapping[str, Any] = item.op_data or {}
        trunk_id = int(undo["trunk_id"])
        old_values = item.body or {}
        detail = await pbx.get_trunk(trunk_id)
        if detail is None or detail.get(KEY_FIELD) != item.name:
            return await self._outcomes.refuse(item, _gone(undo, trunk_id))
        found = changes(old_values, detail)
        if not found and item.write_sent:  # this item's own restore landed
            return await self._outcomes.finish(item, State.SUCCEEDED, trunk_id=trunk_id)
        moved = _moved(undo, detail)
        if moved:
            return await self._outcomes.refuse(item, _changed(undo, moved), trunk_id)
        restored = {field: old_values[field] for field in found}
        await pbx.update_trunk(trunk_id, restored, self._outcomes.before_send(item))
        return await self._outcomes.finish(
            item, State.SUCCEEDED, trunk_id=trunk_id, detail=masked(found)
        )


def _moved(undo: Mapping[str, Any], detail: Mapping[str, Any]) -> list[str]:
    expect: Mapping[str, Any] = undo.get("expect") or {}
    return drifted(expect, expect, detail)


def _changed(undo: Mapping[str, Any], moved: list[str]) -> str:
    return (
        f"changed on the PBX since job {undo.get('job_id')} {undo.get('did', 'touched')} it: "
        f"{', '.join(moved)}; left as it is"
    )


def _gone(undo: Mapping[str, Any], trunk_id: int) -> str:
    return (
        f"changed on the PBX since job {undo.get('job_id')} {undo.get('did', 'touched')} it: "
        f"trunk {trunk_id} is no longer there"
    )
