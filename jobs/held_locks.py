"""Redis locks this process holds, kept alive for as long as it works under them.

A lock expires soon after its holder dies, so that a killed worker's work is taken up again: an
item's claim (a longer run must not lose it to a redelivered task while its create may be in
flight), a token fetch lock within seconds (however long the fetch).
"""

from __future__ import annotations

import redis.asyncio as aioredis
from redis.asyncio.client import Pipeline

from core.lua import lua
from jobs.renewal import Renewal

# KEYS: the lock. ARGV: owner, ttl ms. Pushes the lock's expiry forward if this owner holds it.
RENEW_LOCK_LUA = lua(__file__, "renew_lock")


class HeldLocks(Renewal[tuple[str, int]]):
    """Locks held by this process (lock key -> owner, ttl ms), renewed until let go."""

    what = "locks"

    def __init__(self, redis: aioredis.Redis) -> None:
        super().__init__(redis)
        self._renew = redis.register_script(RENEW_LOCK_LUA)

    def hold(self, lock_key: str, owner: str, ttl_ms: int) -> None:
        """Keep the lock alive from now on (call on the event loop)."""
        self._keep(lock_key, (owner, ttl_ms))

    def let_go(self, lock_key: str) -> None:
        """Stop renewing the lock (released, or dropped by a final transition)."""
        self._drop(lock_key)

    def _period_s(self) -> float:
        return min(ttl_ms for _owner, ttl_ms in self._held.values()) / 3000

    async def _queue_round(self, pipe: Pipeline, held: list[tuple[str, tuple[str, int]]]) -> None:
        for lock_key, (owner, ttl_ms) in held:
            await self._renew(keys=[lock_key], args=[owner, ttl_ms], client=pipe)
