"""The worker's side of the job store: read an item, move it between states, open circuits."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, NotRequired, TypedDict

import redis.asyncio as aioredis

from core import keys
from core.lua import lua
from jobs.held_locks import HeldLocks
from jobs.locks import UNLOCK_LUA
from jobs.records import Item, iso_time
from jobs.redis_batch import RedisBatcher
from jobs.states import State
from jobs.transitions import TRANSITION_LUA, Transition, applied
from trunks.pbx import PbxEntry

# KEYS: item lock, item, job pbxs, job circuit, job counts, job pbx-counts.
# ARGV: owner, lock ms, max attempts a round, first_try_at if unset, updated_at.
# Claims the item and reads all it needs in one round trip: false when another task holds it, else
# {item fields, the job's entry for its PBX, the job's open circuit for that device}. An item that
# will plainly be sent (nothing sent, name not taken, attempts left, no circuit) goes `running` in
# the same step.
CLAIM_LUA = lua(__file__, "claim")

# KEYS: item, job counts, job pbx-counts, item lock, job circuit. ARGV: the device's circuit
# field, then fields and values. Right before a create leaves: the job's open circuit (then
# nothing is recorded), else false, with the attempt counted and the fields written ("maybe sent").
MARK_SENDING_LUA = lua(__file__, "mark_sending")


# KEYS: job circuit, job. ARGV: the device's circuit field, reason. The first reason stays; the
# circuit lives as long as the job does.
OPEN_CIRCUIT_LUA = lua(__file__, "open_circuit")


class CircuitReason(TypedDict):
    """Why a job sends no more requests to a device (its credentials or caller refused, its
    certificate failed, the job cancelled): what each of its items records. The one record of
    a job's circuit (keys.job_circuit), read by `read_circuit` alone."""

    errcode: int | None  # the PBX's errcode; None for a local reason (a TLS failure, a cancel)
    errmsg: str
    cancelled: NotRequired[bool]  # `trunkctl cancel`: its items end cancelled, not failed
    detail: NotRequired[Any]  # the PBX's invalid_param_list, if it sent one


DAMAGED_CIRCUIT = CircuitReason(
    errcode=None, errmsg="this job sends nothing more to this PBX (its circuit record is damaged)"
)


def read_circuit(raw: bytes | str | None) -> CircuitReason | None:
    """A job's circuit record for a device as stored; None when it is closed. A damaged record
    counts as open: better an item failed than a request sent against a refusal."""
    if not raw:
        return None
    try:
        record = json.loads(raw)
    except ValueError:
        return DAMAGED_CIRCUIT
    if not isinstance(record, dict) or not isinstance(record.get("errmsg"), str):
        return DAMAGED_CIRCUIT
    reason: CircuitReason = record  # type: ignore[assignment] # checked just above
    return reason


@dataclass(frozen=True, slots=True)
class Claim:
    """What a task needs to deliver an item it holds the lock of."""

    item: Item | None  # as it was before the claim
    entry: PbxEntry | None
    circuit: CircuitReason | None


class ItemStore:
    """Async access to job items for the delivery logic."""

    def __init__(self, redis: aioredis.Redis) -> None:
        self._redis = redis
        self._transition = redis.register_script(TRANSITION_LUA)
        self._unlock = redis.register_script(UNLOCK_LUA)
        self._claim = redis.register_script(CLAIM_LUA)
        self._open_circuit = redis.register_script(OPEN_CIRCUIT_LUA)
        self._mark_sending = redis.register_script(MARK_SENDING_LUA)
        self._held = HeldLocks(redis)
        # Claims, transitions and reads of one turn of the loop share a pipeline.
        self._batch = RedisBatcher(redis)

    async def claim(
        self, job_id: str, item_no: int, owner: str, ttl_ms: int, *, max_attempts: int, now: float
    ) -> Claim | None:
        """Lock the item for this task and read it (marking it when it will plainly be sent);
        None when another task holds it."""
        result = await self._batch.script(
            self._claim,
            [
                keys.item_lock(job_id, item_no), keys.item(job_id, item_no),
                keys.job_pbxs(job_id), keys.job_circuit(job_id),
                keys.job_counts(job_id), keys.job_pbx_counts(job_id),
            ],
            [owner, ttl_ms, max_attempts, repr(now), iso_time(now)],
        )  # fmt: skip
        if not result:
            return None
        self._held.hold(keys.item_lock(job_id, item_no), owner, ttl_ms)
        fields, entry, circuit = result
        raw = dict(zip(fields[::2], fields[1::2], strict=True))
        try:
            return Claim(
                item=Item.from_hash(job_id, item_no, raw) if raw else None,
                entry=PbxEntry.from_stored(entry) if entry else None,
                circuit=read_circuit(circuit),
            )
        except Exception:
            # Unreadable (a damaged item or entry): the task's next run may try again at once.
            await self.unlock(job_id, item_no, owner)
            raise

    async def load(self, job_id: str, item_no: int) -> Item | None:
        """The item, or None when the job is unknown or expired."""
        raw = await self._batch.command("HGETALL", keys.item(job_id, item_no))
        return Item.from_hash(job_id, item_no, raw) if raw else None

    async def move(self, transition: Transition) -> bool:
        """Apply a transition; False when it did not apply (e.g. the item is already final)."""
        result = await self._batch.script(self._transition, transition.keys(), transition.args())
        return applied(result)

    async def unlock(self, job_id: str, item_no: int, owner: str) -> None:
        """Release the claim if this task still holds it."""
        self.let_go(job_id, item_no)
        await self._batch.script(self._unlock, [keys.item_lock(job_id, item_no)], [owner])

    def let_go(self, job_id: str, item_no: int) -> None:
        """Stop keeping the claim alive: a final transition has dropped it."""
        self._held.let_go(keys.item_lock(job_id, item_no))

    async def mark_sending(
        self, job_id: str, item_no: int, circuit_field: str, fields: dict[str, str | int]
    ) -> CircuitReason | None:
        """Right before a create leaves, one step: the job's open circuit for its PBX (nothing is
        recorded then), else None, with the create counted and `fields` written."""
        raw = await self._batch.script(
            self._mark_sending,
            [
                keys.item(job_id, item_no), keys.job_counts(job_id),
                keys.job_pbx_counts(job_id), keys.item_lock(job_id, item_no),
                keys.job_circuit(job_id),
            ],
            [circuit_field, *[part for pair in fields.items() for part in pair]],
        )  # fmt: skip
        return read_circuit(raw)

    async def open_circuit(self, job_id: str, circuit_field: str, reason: CircuitReason) -> None:
        """Mark the PBX's credentials bad for this job (the first reason stays)."""
        await self._open_circuit(
            keys=[keys.job_circuit(job_id), keys.job(job_id)],
            args=[circuit_field, json.dumps(reason)],
        )


def outcome_fields(
    *, errcode: int | None = None, errmsg: str = "", detail: Any = None, trunk_id: int | None = None
) -> dict[str, str | int]:
    """The outcome fields of an item hash ('' clears a field)."""
    return {
        "errcode": "" if errcode is None else errcode,
        "errmsg": errmsg,
        "detail": "" if detail is None else json.dumps(detail, ensure_ascii=False),
        "trunk_id": "" if trunk_id is None else trunk_id,
    }


def final_transition(job_id: str, item_no: int, state: State, **outcome: Any) -> Transition:
    """The transition to a final state, stamped with finished_at."""
    fields = {**outcome_fields(**outcome), "finished_at": iso_time(), "updated_at": iso_time()}
    return Transition(job_id, item_no, state, fields)
