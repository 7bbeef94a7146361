"""The worker's side of the job store: read an item, move it between states, open circuits."""

from __future__ import annotations

import json
import time
from typing import Any

import redis.asyncio as aioredis

from jobs import keys
from jobs.records import Item
from jobs.states import State
from jobs.transitions import TRANSITION_LUA, Transition, applied
from trunks.pbx import PbxEntry

UNLOCK_LUA = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def now_iso() -> str:
    """The current UTC time as ISO 8601 with seconds."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class ItemStore:
    """Async access to job items for the delivery logic."""

    def __init__(self, redis: aioredis.Redis) -> None:
        self._redis = redis
        self._transition = redis.register_script(TRANSITION_LUA)
        self._unlock = redis.register_script(UNLOCK_LUA)

    async def load(self, job_id: str, item_no: int) -> Item | None:
        """The item, or None when the job is unknown or expired."""
        raw = await self._redis.hgetall(keys.item(job_id, item_no))
        return Item.from_hash(job_id, item_no, raw) if raw else None

    async def pbx_entry(self, job_id: str, alias: str) -> PbxEntry | None:
        """The inventory entry the job delivers to that PBX with."""
        raw = await self._redis.hget(keys.job_pbxs(job_id), alias)
        return PbxEntry.from_stored(raw) if raw else None

    async def move(self, transition: Transition) -> bool:
        """Apply a transition; False when it did not apply (e.g. the item is already final)."""
        result = await self._transition(keys=transition.keys(), args=transition.args())
        return applied(result)

    async def lock(self, job_id: str, item_no: int, owner: str, ttl_ms: int) -> bool:
        """Claim the item for one task; False when another task holds it."""
        return bool(
            await self._redis.set(keys.item_lock(job_id, item_no), owner, nx=True, px=ttl_ms)
        )

    async def unlock(self, job_id: str, item_no: int, owner: str) -> None:
        """Release the claim if this task still holds it."""
        await self._unlock(keys=[keys.item_lock(job_id, item_no)], args=[owner])

    async def circuit(self, job_id: str, alias: str) -> dict[str, Any] | None:
        """Why the PBX's credentials are bad for this job, if they are."""
        raw = await self._redis.hget(keys.job_circuit(job_id), alias)
        return json.loads(raw) if raw else None

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
    fields = {**outcome_fields(**outcome), "finished_at": now_iso(), "updated_at": now_iso()}
    return Transition(job_id, item_no, state, fields)
