"""Redis locks this process holds, kept alive for as long as it works under them.

A lock expires soon after its holder dies, so that a killed worker's work can be taken up again:
- an item's claim after the broker's visibility timeout. A run that lives longer (a long slot
  wait, a slow login, a PBX given a long `timeout_s`) must not lose its claim to the task the
  broker redelivers meanwhile, which would then send the same trunk while this run's create may
  be in flight;
- a PBX's token fetch lock within seconds, however long the fetch itself may take: a worker
  killed while fetching must not stall every other worker's requests to that PBX for a minute.
"""

from __future__ import annotations

import asyncio
import logging

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from core.lua import lua

log = logging.getLogger(__name__)

# KEYS: the lock. ARGV: owner, ttl ms. Pushes the lock's expiry forward if this owner holds it.
RENEW_LOCK_LUA = lua(__file__, "renew_lock")


class HeldLocks:
    """Locks held by this process, each renewed every third of its lifetime until let go."""

    def __init__(self, redis: aioredis.Redis) -> None:
        self._redis = redis
        self._renew = redis.register_script(RENEW_LOCK_LUA)
        self._held: dict[str, tuple[str, int]] = {}  # lock key -> (owner, ttl ms)
        self._renewal: asyncio.Task[None] | None = None

    def hold(self, lock_key: str, owner: str, ttl_ms: int) -> None:
        """Keep the lock alive from now on (call on the event loop)."""
        self._held[lock_key] = (owner, ttl_ms)
        if self._renewal is None:
            self._renewal = asyncio.create_task(self._renew_all())

    def let_go(self, lock_key: str) -> None:
        """Stop renewing the lock (released, or dropped by a final transition)."""
        self._held.pop(lock_key, None)
        if not self._held and self._renewal is not None:
            self._renewal.cancel()
            self._renewal = None

    async def _renew_all(self) -> None:
        while True:
            await asyncio.sleep(min(ttl_ms for _owner, ttl_ms in self._held.values()) / 3000)
            try:
                async with self._redis.pipeline(transaction=False) as pipe:
                    for lock_key, (owner, ttl_ms) in list(self._held.items()):
                        await self._renew(keys=[lock_key], args=[owner, ttl_ms], client=pipe)
                    await pipe.execute()
            except RedisError as exc:  # the next round tries again; a lock outlives one miss
                log.warning("renewing locks failed: %s", type(exc).__name__)
