"""One run's create request(s) for an item, and what is recorded of them as they leave.

The claim counts the first request and marks the item "maybe sent" before anything leaves (see
jobs.item_store); a replay after 10004 is counted as it leaves. When the run ends otherwise
(no slot, no token, a refusal), what was recorded of requests that never left, or that the PBX
surely did not apply, is taken back: the mark decides whether the next run looks the name up.
"""

from __future__ import annotations

from typing import NamedTuple

from jobs.item_store import ItemStore
from jobs.records import Item
from jobs.states import State
from jobs.transitions import Transition
from worker.pbx.errors import PbxError, PbxTokenExpiredError, PbxUnreachableError


class TakeBack(NamedTuple):
    """Item fields and attempts to take back when a run ends otherwise than planned."""

    fields: dict[str, str | int]
    add_attempts: int


NOTHING_BACK = TakeBack({}, 0)


class CreateAttempt:
    """One run's create request(s) for an item: what the claim recorded of them, and what is
    recorded as they leave (or fail to). A run sends one request, and a replay when the PBX
    answers 10004 (which says it did not act on the first)."""

    def __init__(
        self,
        store: ItemStore,
        item: Item,
        *,
        running: dict[str, str | int],
        marked: bool,
        max_attempts: int,
    ) -> None:
        self._store = store
        self._item = item
        self._running = running
        self._marked = marked  # the claim counted the first request and marked the item
        self._max_attempts = max_attempts
        self._left = 0  # requests that left
        self._refused = 0  # of those, answered 10004

    @property
    def mark_unused(self) -> bool:
        """Whether the claim counted a request that never left (to be taken back)."""
        return self._marked and not self._left

    def possibly_applied(self, failure: PbxError | None = None) -> bool:
        """Whether a request of this run may have created the trunk, given how the last one
        ended (`failure`; None: it never left, or no answer was read)."""
        unrefused = (
            self._left > self._refused
        )  # then the last request is the one `failure` is about
        return unrefused and (failure is None or failure.may_have_applied)

    def refused(self) -> None:
        """The PBX answered 10004 to the request that left last."""
        self._refused += 1

    async def about_to_send(self) -> None:
        """Recorded before each request leaves: if the worker dies now, the item is looked up.
        The claim has counted the first request when it marked the item; a replay after 10004
        is one more, unless the run's attempts are used up."""
        item = self._item
        if self._left and item.attempts_this_run + self._left >= self._max_attempts:
            raise PbxTokenExpiredError(
                "trunk/create: TOKEN EXPIRED (errcode 10004)", errcode=10004, errmsg="TOKEN EXPIRED"
            )
        if self._left or not self._marked:
            fields: dict[str, str | int] = {**self._running, "maybe_sent": 1}
            await self._store.move(
                Transition(item.job_id, item.item_no, State.RUNNING, fields, add_attempts=1)
            )
        self._left += 1

    def take_back(self, failure: PbxError | None = None) -> TakeBack:
        """What a run that ends in `failure` (None: no slot) takes back of what was recorded:
        the count of a request that never left (the claim's, with no slot; or one that found no
        PBX to connect to), and the "maybe sent" mark when no request of this job may have
        created the trunk."""
        unsent = isinstance(failure, PbxUnreachableError) and self._left > 0
        uncount = self.mark_unused or unsent
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
