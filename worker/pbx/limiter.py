"""Per-device limits held in Redis across every worker process and machine.

`max_inflight` is a semaphore of leases (a sorted set scored by expiry, so a killed worker's slot
frees itself) and `min_interval_ms` a "next start" time; one Lua script checks and takes both, on
the Redis server's clock.

Waiting costs no Redis round trips while this process holds every slot of the device: waiters
queue in FIFO order and a release hands the turn to the head of the queue. Only when some slot
is held elsewhere (another process or machine) does the head poll Redis.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import deque
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

# KEYS: leases. ARGV: lease id, lease ms. Pushes a live lease's expiry forward, and the key's
# own expiry with it: otherwise the whole set expires under a long request (2 x lease ms after the
# last acquire) and its slot is handed out twice.
RENEW_LUA = """
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lease_ms = tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], 'XX', now + lease_ms, ARGV[1])
redis.call('PEXPIRE', KEYS[1], lease_ms * 2)
return 1
"""

# How often the head waiter asks Redis while a slot of its device is held by another process.
POLL_S = 0.05
# How long a waiter trusts a local release to come (a safety net: releases always signal).
LOCAL_WAIT_S = 1.0
# A lease lives this long unless renewed; a request in flight renews it every third of that, so a
# killed worker's slot frees itself within LEASE_S however long the PBX's timeout is.
LEASE_S = 10.0
# Until the PBX's requests are timed, a request is guessed to take this long.
DEFAULT_HOLD_S = 0.5


class SlotUnavailableError(TrunkctlError):
    """Raised when a task should step aside rather than wait for its PBX: it is saturated."""

    def __init__(self, message: str, retry_in_s: float) -> None:
        super().__init__(message)
        self.retry_in_s = retry_in_s


class DeviceLimiter:
    """Slots of in-flight requests per device (base URL), shared through Redis."""

    def __init__(self, redis: aioredis.Redis, max_waiting: int) -> None:
        self._redis = redis
        self._acquire = redis.register_script(ACQUIRE_LUA)
        self._renew = redis.register_script(RENEW_LUA)
        self._queues: dict[str, deque[asyncio.Event]] = {}
        self._held: dict[str, int] = {}
        # Waiting is cheap while the process has threads to spare; past max_waiting, a task whose
        # PBX already has a waiter steps aside, so a busy PBX cannot hold every thread.
        self._max_waiting = max_waiting
        self._total_waiting = 0
        self._hold_s: dict[str, float] = {}

    def waiting(self, device: str) -> int:
        """Tasks of this process waiting for a slot of the device."""
        return len(self._queues.get(device, ()))

    def backlog_s(self, entry: PbxEntry) -> float:
        """How long this process's queue for the device takes to drain, by recent requests."""
        per_request_s = self._hold_s.get(entry.base_url, DEFAULT_HOLD_S)
        return (self.waiting(entry.base_url) + 1) * per_request_s / entry.max_inflight

    async def _try(self, entry: PbxEntry, lease_id: str) -> float | None:
        taken, wait_ms = await self._acquire(
            keys=[
                keys.device_leases(entry.base_url),
                keys.device_next_start(entry.base_url),
                keys.device_limits(entry.base_url),
            ],
            args=[lease_id, int(LEASE_S * 1000), entry.max_inflight, entry.min_interval_ms],
        )
        if int(taken):
            self._held[entry.base_url] = self._held.get(entry.base_url, 0) + 1
            return None
        if int(wait_ms) >= 0:
            return int(wait_ms) / 1000  # min_interval_ms: the exact time to come back
        if self._held.get(entry.base_url, 0) >= entry.max_inflight:
            return LOCAL_WAIT_S  # every slot is ours: a local release will signal
        return POLL_S

    async def acquire(self, entry: PbxEntry, wait_s: float) -> str:
        """Take a slot of the entry's device, waiting at most wait_s; the lease id."""
        lease_id = uuid.uuid4().hex
        device = entry.base_url
        if self.waiting(device) and self._total_waiting >= self._max_waiting:
            raise SlotUnavailableError(f"{entry.pbx} is saturated", self.backlog_s(entry))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait_s
        queue = self._queues.setdefault(device, deque())
        turn = asyncio.Event()  # set when this waiter should ask Redis (again)
        queue.append(turn)
        self._total_waiting += 1
        try:
            while True:
                turn.clear()  # before asking: a release during the call still wakes us
                if queue[0] is turn:
                    pause_s = await self._try(entry, lease_id)
                    if pause_s is None:
                        return lease_id
                else:
                    pause_s = LOCAL_WAIT_S
                remaining = deadline - loop.time()
                if remaining <= 0:
                    raise SlotUnavailableError(
                        f"{entry.pbx} stayed busy for {wait_s:.1f} s", self.backlog_s(entry)
                    )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(turn.wait(), min(pause_s, remaining))
        finally:
            self._total_waiting -= 1
            queue.remove(turn)
            if queue:
                queue[0].set()  # the next in line asks now

    async def release(self, entry: PbxEntry, lease_id: str) -> None:
        """Give the slot back and hand the turn to this process's next waiter for the device."""
        try:
            await self._redis.zrem(keys.device_leases(entry.base_url), lease_id)
        finally:
            # Even if Redis failed us: the lease expires there, and local waiters must move on.
            self._held[entry.base_url] -= 1
            queue = self._queues.get(entry.base_url)
            if queue:
                queue[0].set()

    @asynccontextmanager
    async def slot(self, entry: PbxEntry, wait_s: float) -> AsyncIterator[None]:
        """Hold one slot of the device for the duration of one request."""
        lease_id = await self.acquire(entry, wait_s)
        renewal = asyncio.create_task(self._keep_alive(entry, lease_id))
        started = asyncio.get_running_loop().time()
        try:
            yield
        finally:
            renewal.cancel()
            held_s = asyncio.get_running_loop().time() - started
            previous_s = self._hold_s.get(entry.base_url, held_s)
            self._hold_s[entry.base_url] = 0.8 * previous_s + 0.2 * held_s
            await self.release(entry, lease_id)

    async def _keep_alive(self, entry: PbxEntry, lease_id: str) -> None:
        key = keys.device_leases(entry.base_url)
        while True:
            await asyncio.sleep(LEASE_S / 3)
            await self._renew(keys=[key], args=[lease_id, int(LEASE_S * 1000)])
