"""The worker's side of the job store: read an item, move it between states, open circuits."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis

from jobs import keys
from jobs.locks import UNLOCK_LUA
from jobs.records import Item, iso_time
from jobs.states import State
from jobs.transitions import TRANSITION_LUA, Transition, applied
from trunks.pbx import PbxEntry

# KEYS: item lock, item, job pbxs, job circuit. ARGV: owner, lock ms.
# Claims the item for one task and reads all it needs in one round trip: false when another task
# holds it, else {item fields, the job's entry for its PBX, the PBX's open circuit}.
CLAIM_LUA = """
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return false end
local item = redis.call('HGETALL', KEYS[2])
local pbx = ''
for i = 1, #item, 2 do if item[i] == 'pbx' then pbx = item[i + 1] end end
return {item, redis.call('HGET', KEYS[3], pbx), redis.call('HGET', KEYS[4], pbx)}
"""


@dataclass(frozen=True, slots=True)
class Claim:
    """What a task needs to deliver an item it holds the lock of."""

    item: Item | None
    entry: PbxEntry | None
    circuit: dict[str, Any] | None


class ItemStore:
    """Async access to job items for the delivery logic."""

    def __init__(self, redis: aioredis.Redis) -> None:
        self._redis = redis
        self._transition = redis.register_script(TRANSITION_LUA)
        self._unlock = redis.register_script(UNLOCK_LUA)
        self._claim = redis.register_script(CLAIM_LUA)

    async def claim(self, job_id: str, item_no: int, owner: str, ttl_ms: int) -> Claim | None:
        """Lock the item for this task and read it; None when another task holds it."""
        result = await self._claim(
            keys=[
                keys.item_lock(job_id, item_no), keys.item(job_id, item_no),
                keys.job_pbxs(job_id), keys.job_circuit(job_id),
            ],
            args=[owner, ttl_ms],
        )  # fmt: skip
        if not result:
            return None
        fields, entry, circuit = result
        raw = dict(zip(fields[::2], fields[1::2], strict=True))
        return Claim(
            item=Item.from_hash(job_id, item_no, raw) if raw else None,
            entry=PbxEntry.from_stored(entry) if entry else None,
            circuit=json.loads(circuit) if circuit else None,
        )

    async def load(self, job_id: str, item_no: int) -> Item | None:
        """The item, or None when the job is unknown or expired."""
        raw = await self._redis.hgetall(keys.item(job_id, item_no))
        return Item.from_hash(job_id, item_no, raw) if raw else None

    async def move(self, transition: Transition) -> bool:
        """Apply a transition; False when it did not apply (e.g. the item is already final)."""
        result = await self._transition(keys=transition.keys(), args=transition.args())
        return applied(result)

    async def unlock(self, job_id: str, item_no: int, owner: str) -> None:
        """Release the claim if this task still holds it."""
        await self._unlock(keys=[keys.item_lock(job_id, item_no)], args=[owner])

    async def open_circuit(self, job_id: str, alias: str, reason: dict[str, Any]) -> None:
        """Mark the PBX's credentials bad for this job (the first reason stays)."""
        await self._redis.hsetnx(keys.job_circuit(job_id), alias, json.dumps(reason))


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
