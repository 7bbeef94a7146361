"""One run's create request(s) for an item, and what is recorded of them as they leave.

Right before a request leaves, one step reads the job's circuit and, unless it is open, counts the
attempt and marks the item "maybe sent", so that the next run looks the name up first. What was
recorded of a request that never left, or surely did not land, is taken back.
"""

from __future__ import annotations

from typing import NamedTuple

from jobs.item_store import ItemStore
from jobs.records import Item
from jobs.states import State
from jobs.transitions import Transition
from worker.pbx.errors import (
    CircuitOpenError,
    PbxError,
    PbxTokenExpiredError,
    PbxUnreachableError,
)


class TakeBack(NamedTuple):
    """Item fields and attempts to take back when a run ends otherwise than planned."""

    fields: dict[str, str | int]
    add_attempts: int


NOTHING_BACK = TakeBack({}, 0)


class CreateAttempt:
    """One run's create request(s) for an item: one, and a replay after 10004 (not applied)."""

    def __init__(
        self,
        store: ItemStore,
        item: Item,
        *,
        running: dict[str, str | int],
        max_attempts: int,
        circuit_field: str,
    ) -> None:
        self._store = store
        self._item = item
        self._circuit_field = circuit_field  # the job's circuit for the item's device
        self._running = running
        self._max_attempts = max_attempts
        self._left = 0  # requests that left
        self._refused = 0  # of those, answered 10004

    def possibly_applied(self, failure: PbxError | None = None) -> bool:
        """Whether a request of this run may have created the trunk, given how the last one
        ended (`failure`; None: it never left, or no answer was read)."""
        unrefused = self._left > self._refused  # then `failure` is about the last request
        return unrefused and (failure is None or failure.may_have_applied)

    def refused(self) -> None:
        """The PBX answered 10004 to the request that left last."""
        self._refused += 1

    async def about_to_send(self) -> None:
        """Right before each request leaves: CircuitOpenError if the job's circuit for the PBX is
        open, else count it and mark the item (a replay after 10004 needs an attempt left)."""
        item = self._item
        if self._left and item.attempts_this_round + self._left >= self._max_attempts:
            raise PbxTokenExpiredError(
                "trunk/create: TOKEN EXPIRED (errcode 10004)", errcode=10004, errmsg="TOKEN EXPIRED"
            )
        fields: dict[str, str | int] = {**self._running, "maybe_sent": 1}
        reason = await self._store.mark_sending(
            item.job_id, item.item_no, self._circuit_field, fields
        )
        if reason is not None:
            raise CircuitOpenError.from_reason(reason)
        self._left += 1

    def take_back(self, failure: PbxError | None = None) -> TakeBack:
        """What a run ending in `failure` (None: no slot) takes back: the attempt of a request that
        found no PBX, and the "maybe sent" mark when no create of this job may have landed."""
        if not self._left:
            return NOTHING_BACK
        uncount = isinstance(failure, PbxUnreachableError)
        unmark = not (self._item.maybe_sent or self.possibly_applied(failure))
        if not (uncount or unmark):
            return NOTHING_BACK
        return TakeBack({"maybe_sent": 0} if unmark else {}, -1 if uncount else 0)

    async def after_failure(self, failure: PbxError) -> None:
        """Record the take-back of a run that ends in `failure` (see take_back)."""
        back = self.take_back(failure)
        if back != NOTHING_BACK:
            item = self._item
            await self._store.move(
                Transition(
                    item.job_id, item.item_no, State.RUNNING, back.fields,
                    add_attempts=back.add_attempts,
                )
            )  # fmt: skip
