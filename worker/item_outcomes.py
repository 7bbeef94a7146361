"""How the operations beside create (worker.operations) record an item's steps and outcome.

An update or delete is marked `write_sent` right before it leaves; a later run reads the trunk
and decides from what the PBX holds, never by sending the write blindly again.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from jobs.item_store import ItemStore, outcome_fields
from jobs.operations import WRITE_SENT_FIELD
from jobs.records import Item, iso_time
from jobs.states import State
from jobs.transitions import Transition
from trunks.compare import Change
from worker.pbx.connection import PbxConnection

BeforeSend = Callable[[], Awaitable[None]]


class ItemOutcomes:
    """Transitions of one item's run, for an operation's module."""

    def __init__(self, store: ItemStore, clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._clock = clock

    async def running(self, item: Item) -> None:
        """The item is being worked on (its first try's time kept for the retry window)."""
        first_try_at = item.first_try_at or self._clock()
        fields = {"first_try_at": repr(first_try_at), "updated_at": iso_time()}
        await self._store.move(Transition(item.job_id, item.item_no, State.RUNNING, fields))

    async def finish(
        self,
        item: Item,
        state: State,
        *,
        trunk_id: int | None = None,
        detail: Any = None,
        errmsg: str = "",
        extra: Mapping[str, str | int] | None = None,
    ) -> State:
        """Move the item to a final state with its outcome (and `extra` item fields)."""
        now = iso_time()
        fields = {
            **outcome_fields(errmsg=errmsg, detail=detail, trunk_id=trunk_id),
            "finished_at": now, "updated_at": now, **(extra or {}),
        }  # fmt: skip
        await self._store.move(Transition(item.job_id, item.item_no, state, fields))
        return state

    async def refuse(self, item: Item, reason: str, trunk_id: int | None = None) -> State:
        """Fail the item without sending anything: the PBX holds what it must not touch."""
        return await self.finish(item, State.FAILED, errmsg=reason, trunk_id=trunk_id)

    def before_send(self, item: Item, **recorded: Any) -> BeforeSend:
        """What is awaited right before an update or delete leaves (its slot held): the item is
        marked `write_sent`, with `recorded` (JSON-encoded) beside it, so that a run after a lost
        answer knows the write may have landed."""
        fields: dict[str, str | int] = {WRITE_SENT_FIELD: 1}
        fields.update({name: json.dumps(value) for name, value in recorded.items()})

        async def mark() -> None:
            stamped = {**fields, "updated_at": iso_time()}
            await self._store.move(Transition(item.job_id, item.item_no, State.RUNNING, stamped))

        return mark


async def located(pbx: PbxConnection, name: str) -> tuple[int | None, dict[str, Any] | None]:
    """The id and full detail of the trunk of that name (None, None: there is none)."""
    trunk_id = await pbx.find_trunk(name)
    if trunk_id is None:
        return None, None
    detail = await pbx.get_trunk(trunk_id)
    return (trunk_id, detail) if detail is not None else (None, None)


def recorded_changes(old_values: Mapping[str, Any], row: Mapping[str, Any]) -> dict[str, Change]:
    """The changes an update made, from the old values recorded before it left."""
    return {field: (old, row.get(field)) for field, old in old_values.items()}


def type_conflict_reason(name: str, fields: list[str], detail: Mapping[str, Any]) -> str:
    """Why a row cannot be applied to the trunk of its name (type, country or itsp differ)."""
    held = ", ".join(f"{field} {detail.get(field)!r}" for field in fields)
    return (
        f"a trunk named {name!r} is on the PBX with {held}: trunk/update cannot change "
        f"{'it' if len(fields) == 1 else 'them'} (delete it on the PBX, or rename the row)"
    )
