"""Per-device limits held in Redis across every worker process and machine.

`max_inflight` is a semaphore of leases (a sorted set scored by expiry, so a killed worker's slot
frees itself) and `min_interval_ms` a "next start" time; one Lua script checks and takes both, on
the Redis server's clock. Waiters in this process are woken when a local lease is released.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import redis.asyncio as aioredis

from jobs import keys
from trunkctl.errors import TrunkctlError
from trunks.pbx import PbxEntry

# KEYS: leases, next-start, limits. ARGV: lease id, lease ms, default max, default interval ms.
# Returns {1, 0} when the slot is taken, else {0, ms to wait before asking again (-1: unknown)}.
ACQUIRE_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local limits = redis.call('HMGET', KEYS[3], 'max_inflight', 'min_interval_ms')
local max = tonumber(limits[1] or ARGV[3])
local interval = tonumber(limits[2] or ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= max then return {0, -1} end
local next_start = tonumber(redis.call('GET', KEYS[2]) or '0')
if now < next_start then return {0, next_start - now} end
local lease_ms = tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], now + lease_ms, ARGV[1])
redis.call('PEXPIRE', KEYS[1], lease_ms * 2)
if interval > 0 then redis.call('SET', KEYS[2], now + interval, 'PX', interval + 1000) end
return {1, 0}
"""

# KEYS: leases. ARGV: lease id, lease ms. Pushes a live lease's expiry forward.
RENEW_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[2]), ARGV[1])
"""

POLL_S = 0.05
# A lease lives this long unless renewed; a request in flight renews it every third of that, so a
# killed worker's slot frees itself within LEASE_S however long the PBX's timeout is.
LEASE_S = 10.0
# Tasks of one process that may queue up behind each slot of a device; more step aside at once,
# so a saturated PBX cannot hold the threads that other PBXs' tasks could use.
WAITERS_PER_SLOT = 3


class SlotUnavailableError(TrunkctlError):
    """Raised when a PBX stays saturated for the whole wait: the task should step aside."""


class DeviceLimiter:
    """Slots of in-flight requests per device (base URL), shared through Redis."""

    def __init__(self, redis: aioredis.Redis) -> None:
        self._redis = redis
        self._acquire = redis.register_script(ACQUIRE_LUA)
        self._renew = redis.register_script(RENEW_LUA)
        self._released: dict[str, asyncio.Event] = {}
        self.waiting: dict[str, int] = {}

    async def _try(self, entry: PbxEntry, lease_id: str) -> float | None:
        lease_ms = int(LEASE_S * 1000)
        taken, wait_ms = await self._acquire(
            keys=[
                keys.device_leases(entry.base_url),
                keys.device_next_start(entry.base_url),
                keys.device_limits(entry.base_url),
            ],
            args=[lease_id, lease_ms, entry.max_inflight, entry.min_interval_ms],
        )
        if int(taken):
            return None
        return POLL_S if int(wait_ms) < 0 else int(wait_ms) / 1000

    async def acquire(self, entry: PbxEntry, wait_s: float) -> str:
        """Take a slot of the entry's device, waiting at most wait_s; the lease id."""
        lease_id = uuid.uuid4().hex
        device = entry.base_url
        if self.waiting.get(device, 0) >= entry.max_inflight * WAITERS_PER_SLOT:
            raise SlotUnavailableError(f"{entry.pbx} already has tasks waiting in this worker")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait_s
        self.waiting[device] = self.waiting.get(device, 0) + 1
        try:
            while (pause_s := await self._try(entry, lease_id)) is not None:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    raise SlotUnavailableError(f"{entry.pbx} stayed busy for {wait_s:.1f} s")
                event = self._released.setdefault(device, asyncio.Event())
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(event.wait(), min(pause_s, remaining))
        finally:
            self.waiting[device] -= 1
        return lease_id

    async def release(self, entry: PbxEntry, lease_id: str) -> None:
        """Give the slot back and wake this process's waiters for that device."""
        await self._redis.zrem(keys.device_leases(entry.base_url), lease_id)
        event = self._released.pop(entry.base_url, None)
        if event is not None:
            event.set()

    @asynccontextmanager
    async def slot(self, entry: PbxEntry, wait_s: float) -> AsyncIterator[None]:
        """Hold one slot of the device for the duration of one request."""
        lease_id = await self.acquire(entry, wait_s)
        renewal = asyncio.create_task(self._keep_alive(entry, lease_id))
        try:
            yield
        finally:
            renewal.cancel()
            await self.release(entry, lease_id)

    async def _keep_alive(self, entry: PbxEntry, lease_id: str) -> None:
        key = keys.device_leases(entry.base_url)
        while True:
            await asyncio.sleep(LEASE_S / 3)
            await self._renew(keys=[key], args=[lease_id, int(LEASE_S * 1000)])
