"""One trunk's delivery: from its stored item to a final state, or to the next run.

Whatever may have reached the PBX is looked up by name before anything is sent again, so a trunk
is never created twice; transient faults become "run again in N seconds" (a Celery retry).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from core import keys
from core.settings import Settings
from jobs.item_store import CircuitReason, ItemStore, final_transition, outcome_fields
from jobs.locks import owner_token
from jobs.operations import Op
from jobs.records import Item, iso_time
from jobs.states import FINAL_STATES, State
from jobs.transitions import Transition
from trunks.pbx import PbxEntry
from worker.backoff import defer_s
from worker.create_attempt import NOTHING_BACK, CreateAttempt, TakeBack
from worker.operations import Operations
from worker.pbx.connection import OnUnusable, PbxConnection
from worker.pbx.errors import (
    CircuitOpenError,
    LoginsPausedError,
    PbxDuplicateError,
    PbxError,
    PbxUnusableError,
    SlotUnavailableError,
)
from worker.retry_policy import counted, decide

# How long an item's claim outlives its run's last renewal.
CLAIM_LOCK_MS = 30_000


@dataclass(frozen=True, slots=True)
class Outcome:
    """Where a run left the item, and when the task should run again (None: never)."""

    state: State | None
    run_again_in_s: float | None = None


def _pbx_errmsg(error: PbxError) -> str:
    """The PBX's own errmsg when it answered with an errcode, else the local reason (both free
    of the request's secrets: the client scrubs what a PBX echoes back)."""
    return str(error) if error.errcode is None else error.errmsg


class Delivery:
    """Delivers items of jobs to their PBXs."""

    def __init__(
        self,
        store: ItemStore,
        # (entry, job id, what to do when the PBX is unusable for the job) -> connection
        connect: Callable[[PbxEntry, str, OnUnusable], PbxConnection],
        settings: Settings,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._connect = connect
        self._settings = settings
        self._clock = clock
        self._operations = Operations(store)

    async def run(self, job_id: str, item_no: int) -> Outcome:
        """One run of one item's task."""
        owner = owner_token()
        # Renewed while the run lasts; after a crash, free again by the time the broker hands the
        # task to another worker.
        lock_ms = min(self._settings.visibility_timeout_s * 1000, CLAIM_LOCK_MS)
        now = self._clock()
        claim = await self._store.claim(
            job_id, item_no, owner, lock_ms, max_attempts=self._settings.max_attempts, now=now
        )
        if claim is None:
            # Another task (a redelivered duplicate) holds the item: look again later.
            return Outcome(None, self._settings.slot_wait_s)
        outcome = Outcome(None)
        try:
            item = claim.item
            if item is None or item.state in FINAL_STATES:
                return Outcome(item.state if item else None)
            if claim.entry is None:
                outcome = await self._fail(item, f"PBX {item.pbx!r} has no stored inventory entry")
            elif claim.circuit is not None:
                outcome = await self._end_by_circuit(item, claim.circuit)
            else:
                outcome = await self._attempt(item, claim.entry, now)
            return outcome
        finally:
            if outcome.state in FINAL_STATES:  # a final transition has dropped the lock
                self._store.let_go(job_id, item_no)
            else:
                await self._store.unlock(job_id, item_no, owner)

    async def give_up(self, job_id: str, item_no: int, reason: str) -> None:
        """End an item whose task kept failing (unexpected errors, again and again): failed, with
        the reason, unless it is final already. `retry` queues it again like any failed item."""
        await self._store.move(final_transition(job_id, item_no, State.FAILED, errmsg=reason))

    async def _finish(self, item: Item, state: State, **outcome: Any) -> Outcome:
        await self._store.move(final_transition(item.job_id, item.item_no, state, **outcome))
        return Outcome(state)

    async def _end_by_circuit(self, item: Item, reason: CircuitReason) -> Outcome:
        """End an item whose job sends no more to its PBX: cancelled, or failed with the reason
        its credentials were refused."""
        state = State.CANCELLED if reason.get("cancelled") else State.FAILED
        return await self._finish(
            item, state, errcode=reason["errcode"], errmsg=reason["errmsg"],
            detail=reason.get("detail"),
        )  # fmt: skip

    async def _fail(self, item: Item, error: PbxError | str) -> Outcome:
        if isinstance(error, str):
            return await self._finish(item, State.FAILED, errmsg=error)
        return await self._finish(
            item, State.FAILED, errcode=error.errcode, errmsg=_pbx_errmsg(error),
            detail=error.detail,
        )  # fmt: skip

    async def _attempt(self, item: Item, entry: PbxEntry, now: float) -> Outcome:
        first_try_at = item.first_try_at or now
        try:
            pbx = self._connect(
                entry, item.job_id, lambda exc: self._open_circuit(item, entry, exc)
            )
            return await self._operate(item, pbx, first_try_at)
        except PbxUnusableError as exc:
            return await self._end_by_circuit(item, await self._open_circuit(item, entry, exc))
        except SlotUnavailableError as exc:
            return await self._defer(item, exc.retry_in_s)
        except PbxError as exc:
            if exc.transient:
                return await self._retry_or_fail(item, exc, first_try_at)
            return await self._fail(item, exc)

    async def _operate(self, item: Item, pbx: PbxConnection, first_try_at: float) -> Outcome:
        """The item's operation: a create here, the others in worker.operations (which may end
        in this create, without a second lookup when they looked the name up already)."""
        if item.op is Op.CREATE:
            return await self._create(item, pbx, first_try_at)

        async def create(looked_up: bool) -> Outcome:
            fresh = replace(item, taken_before=False) if looked_up else item
            return await self._create(fresh, pbx, first_try_at)

        done = await self._operations.perform(item, pbx, create)
        return done if isinstance(done, Outcome) else Outcome(done)

    async def _create(self, item: Item, pbx: PbxConnection, first_try_at: float) -> Outcome:
        """Send the create, unless a lookup finds the trunk first."""
        running: dict[str, str | int] = {
            "first_try_at": repr(first_try_at),
            "updated_at": iso_time(),
        }
        if item.maybe_sent or item.taken_before:
            # A create of this job may have landed, or the PBX said the name was taken: look.
            await self._store.move(Transition(item.job_id, item.item_no, State.RUNNING, running))
            trunk_id = await pbx.find_trunk(item.name)
            if trunk_id is not None:
                state = State.SUCCEEDED if item.maybe_sent else State.EXISTS
                return await self._finish(item, state, trunk_id=trunk_id)
        if item.attempts_this_round >= self._settings.max_attempts:
            return await self._give_up(item, item.attempts_this_round)
        attempt = CreateAttempt(
            self._store, item, running=running, max_attempts=self._settings.max_attempts,
            circuit_field=keys.circuit_field(pbx.entry.base_url),
        )  # fmt: skip

        try:
            trunk_id = await pbx.create_trunk(
                item.body or {}, attempt.about_to_send, attempt.refused
            )
        except PbxDuplicateError as exc:
            return await self._on_duplicate(item, pbx, exc)
        except SlotUnavailableError as exc:
            # Never left: what was recorded of it goes back with the transition that requeues.
            return await self._defer(item, exc.retry_in_s, attempt.take_back())
        except PbxError as exc:
            # A refusal was stored while its slot was held (on_unusable; for a login, the tokens).
            await attempt.after_failure(exc)
            raise
        return await self._finish(item, State.SUCCEEDED, trunk_id=trunk_id)

    async def _on_duplicate(
        self, item: Item, pbx: PbxConnection, duplicate: PbxDuplicateError
    ) -> Outcome:
        """The PBX refused the create as a duplicate (40003): the trunk of that name is there,
        unless the lookup cannot find it (then `duplicate` stands as the item's failure)."""
        if not item.maybe_sent:
            # No create of this job landed: the trunk was there before. Unmarked, a run after a
            # failed lookup cannot take it for this job's own, and looks before it sends.
            await self._store.move(
                Transition(
                    item.job_id, item.item_no, State.RUNNING, {"maybe_sent": 0, "taken_before": 1}
                )
            )
        trunk_id = await pbx.find_trunk(item.name)
        if trunk_id is None:
            raise duplicate
        # Ours if an earlier create of this job may have landed; otherwise it was there before.
        state = State.SUCCEEDED if item.maybe_sent else State.EXISTS
        return await self._finish(item, state, trunk_id=trunk_id)

    async def _open_circuit(
        self, item: Item, entry: PbxEntry, exc: PbxUnusableError
    ) -> CircuitReason:
        """Open the job's circuit for the item's device (every request of the job reads it before
        it leaves); its reason. A CircuitOpenError says it is open already: nothing to write."""
        reason = CircuitReason(errcode=exc.errcode, errmsg=_pbx_errmsg(exc))
        if isinstance(exc, CircuitOpenError) and exc.cancelled:
            reason["cancelled"] = True
        if exc.detail is not None:
            reason["detail"] = exc.detail
        if not isinstance(exc, CircuitOpenError):
            await self._store.open_circuit(item.job_id, keys.circuit_field(entry.base_url), reason)
        return reason

    async def _give_up(self, item: Item, attempts: int) -> Outcome:
        reason = f"gave up after {counted(item, attempts)}: {item.errmsg or 'no answer'}"
        return await self._finish(item, State.FAILED, errcode=item.errcode, errmsg=reason)

    async def _retry_or_fail(self, item: Item, exc: PbxError, first_try_at: float) -> Outcome:
        """Run the item again after a backoff, unless its bounds are reached (see
        worker.retry_policy), or a pause of its PBX's logins would outlast its window."""
        window_ends_at = first_try_at + self._settings.retry_window_s
        if isinstance(exc, LoginsPausedError) and exc.resumes_at > window_ends_at:
            return await self._fail(item, exc)
        fresh = await self._store.load(item.job_id, item.item_no)
        decision = decide(
            item, exc, attempts=(fresh or item).attempts_this_round,
            elapsed_s=self._clock() - first_try_at, settings=self._settings,
        )  # fmt: skip
        if decision.give_up is not None:
            return await self._finish(
                item, State.FAILED, errcode=exc.errcode, errmsg=decision.give_up
            )
        tries, delay_s = decision.tries, decision.delay_s
        errmsg = _pbx_errmsg(exc)
        fields = {**outcome_fields(errcode=exc.errcode, errmsg=errmsg), "tries": tries}
        fields.update(updated_at=iso_time(), first_try_at=repr(first_try_at))
        await self._store.move(Transition(item.job_id, item.item_no, State.RETRYING, fields))
        return Outcome(State.RETRYING, delay_s)

    async def _defer(
        self, item: Item, comeback_in_s: float, back: TakeBack = NOTHING_BACK
    ) -> Outcome:
        """Queue the item again for later, with what the run takes `back`."""
        fields = {**back.fields, "deferrals": item.deferrals + 1, "updated_at": iso_time()}
        await self._store.move(
            Transition(
                item.job_id, item.item_no, State.QUEUED, fields, add_attempts=back.add_attempts
            )
        )
        # Back when the PBX's backlog should have drained, well inside the visibility timeout.
        cap_s = self._settings.defer_cap_s
        return Outcome(State.QUEUED, defer_s(comeback_in_s, cap_s=cap_s))
