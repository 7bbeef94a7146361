"""The operations of an item beside create (jobs.operations.Op), for worker.delivery, which
claims the item and turns PBX faults into retries or failures for all of them alike."""

from __future__ import annotations

from typing import TypeVar

from jobs.item_store import ItemStore
from jobs.operations import Op
from jobs.records import Item
from jobs.states import State
from worker.item_outcomes import ItemOutcomes
from worker.pbx.connection import PbxConnection
from worker.plan_read import PlanRead
from worker.trunk_rollback import TrunkRollback
from worker.trunk_update import Create, TrunkUpdate

T = TypeVar("T")


class Operations:
    """Carries out the items whose operation is not a plain create."""

    def __init__(self, store: ItemStore) -> None:
        outcomes = ItemOutcomes(store)
        self._update = TrunkUpdate(outcomes)
        self._read = PlanRead(outcomes)
        self._rollback = TrunkRollback(outcomes)

    async def perform(self, item: Item, pbx: PbxConnection, create: Create[T]) -> T | State:
        """Carry out the item's operation on its PBX."""
        if item.op is Op.UPSERT:
            return await self._update.upsert(item, pbx, create)
        if item.op is Op.APPLY:
            return await self._update.apply(item, pbx, create)
        if item.op is Op.READ:
            return await self._read.read(item, pbx)
        if item.op is Op.DELETE:
            return await self._rollback.delete(item, pbx)
        if item.op is Op.RESTORE:
            return await self._rollback.restore(item, pbx)
        return await create(False)
