"""Per-device limits held in Redis across every worker process and machine.

`max_inflight` is a semaphore of leases (a sorted set scored by expiry, so a killed worker's slot
frees itself) and `min_interval_ms` a "next start" time; one Lua script checks and takes both, on
the Redis server's clock.

Within a process, waiters for a device queue in FIFO order and cost nothing while they wait:
- a finished request hands its lease straight to the next local waiter (no Redis round trip,
  and no gap between two requests to the device), unless the device has a minimum interval;
- otherwise the lease goes back to Redis, announced on a pub/sub channel, and the head of the
  queue asks for one; while the device's slots are held by other processes, it waits for such an
  announcement, for the soonest lease to expire, or at most POLL_S.
A task that would find enough already queued for its device may step aside instead (see
`_should_step_aside`) and is told when to come back.
One task per process renews every lease in use, in one pipeline, while requests run.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import redis.asyncio as aioredis

from jobs import keys
from jobs.locks import owner_token
from jobs.redis_batch import RedisBatcher
from trunkctl.errors import TrunkctlError
from trunks.pbx import PbxEntry
from worker.pbx.limiter_scripts import ACQUIRE_LUA, MARK_START_LUA, RELEASE_LUA, RENEW_LUA

log = logging.getLogger(__name__)

# While every slot of a device is held by other processes, the head waiter asks Redis again when
# one is given back (a message on keys.SLOT_RELEASED), when the soonest lease would expire (its
# holder died), or at the latest after POLL_S (a missed message).
POLL_S = 1.0
# A lease lives this long unless renewed; leases in use are renewed every third of that, so a
# killed worker's slot frees itself within LEASE_S however long the PBX's timeout is.
LEASE_S = 10.0
# Until the PBX's requests are timed, a request is guessed to take this long (a typical PBX).
DEFAULT_HOLD_S = 0.2
# A device with this many local waiters per slot has enough queued to stay busy: under pressure,
# further tasks for it step aside (see DeviceLimiter.acquire).
ENOUGH_WAITERS_PER_SLOT = 4
# Stepping aside for room only helps if other PBXs' tasks are waiting in the broker. A sign of
# them: recent arrivals for PBXs this process was not working on. When (nearly) every task that
# arrives is for a PBX already at work here, the broker holds more of the same, and stepping aside
# would only churn: tasks wait here instead (the long-wait rule still holds). The share of such
# new arrivals is an average over recent ones, each weighing NEW_SHARE_WEIGHT: one new arrival
# alone lifts it over ROOM_FOR_NEW_SHARE, and about 20 arrivals without another let it fall back.
NEW_SHARE_WEIGHT = 0.05
ROOM_FOR_NEW_SHARE = 0.02


def _text(data: bytes | str) -> str:
    return data.decode() if isinstance(data, bytes) else data


class SlotUnavailableError(TrunkctlError):
    """Raised when a task should step aside rather than wait for its PBX: it is saturated."""

    def __init__(self, message: str, retry_in_s: float) -> None:
        super().__init__(message)
        self.retry_in_s = retry_in_s


@dataclass(eq=False)
class _Waiter:
    """One task waiting for a slot: woken to ask Redis, or handed a lease outright."""

    wake: asyncio.Event = field(default_factory=asyncio.Event)
    lease_id: str | None = None


@dataclass
class _Device:
    """What this process knows of one device."""

    queue: deque[_Waiter] = field(default_factory=deque)
    held: int = 0  # slots this process holds
    interval_ms: int = -1  # the device's min interval, as Redis last said (-1: not asked yet)
    max_inflight: int = 0  # the device's max in flight, as Redis last said (0: not asked yet)
    device_id: str = ""
    hold_s: float = DEFAULT_HOLD_S  # recent time a request holds its slot
    comeback_at: float = 0.0  # (loop time) when the last task that stepped aside is due back


class DeviceLimiter:
    """Slots of in-flight requests per device (base URL), shared through Redis."""

    def __init__(self, redis: aioredis.Redis, max_waiting: int) -> None:
        self._redis = redis
        self._acquire = redis.register_script(ACQUIRE_LUA)
        self._renew = redis.register_script(RENEW_LUA)
        self._release = redis.register_script(RELEASE_LUA)
        self._mark_start = redis.register_script(MARK_START_LUA)
        # Acquires and releases of one loop turn (a burst of tasks starting) share a pipeline.
        self._batch = RedisBatcher(redis)
        self._devices: dict[str, _Device] = {}
        # Waiting costs nothing, but a waiting task holds one of the process's places for tasks:
        # past max_waiting waiters the process is short of room (see _should_step_aside).
        self._max_waiting = max_waiting
        self._total_waiting = 0
        self._new_share = 0.0  # of recent arrivals, those for a device not at work here
        self._in_use: dict[str, str] = {}  # lease id -> its device's base URL
        self._renewal: asyncio.Task[None] | None = None
        self._by_id: dict[str, _Device] = {}
        self._listening = 0  # waiters that want to hear of other processes' releases
        self._listener: asyncio.Task[None] | None = None

    def _device(self, base_url: str) -> _Device:
        device = self._devices.get(base_url)
        if device is None:
            device = self._devices[base_url] = _Device(device_id=keys.device_id(base_url))
            self._by_id[device.device_id] = device
        return device

    def waiting(self, base_url: str) -> int:
        """Tasks of this process waiting for a slot of the device."""
        device = self._devices.get(base_url)
        return len(device.queue) if device else 0

    @staticmethod
    def _limit(entry: PbxEntry, device: _Device) -> int:
        """The device's max in flight: as Redis last said, else as this task's entry says."""
        return device.max_inflight or entry.max_inflight

    def _per_request_s(self, entry: PbxEntry, device: _Device) -> float:
        return device.hold_s / self._limit(entry, device)

    def comeback_in_s(self, entry: PbxEntry, waiting_ahead: int | None = None) -> float:
        """When a task that steps aside now should come back: when the waiters ahead of it
        (`waiting_ahead`; by default the whole local queue) are down to half of "enough", and
        after the tasks that stepped aside before it (one request's time apart), so that they
        return about when the device needs them, in order. Waiters behind a task that gives up
        waiting give up too, at about the same time: they do not count."""
        device = self._device(entry.base_url)
        per_request_s = self._per_request_s(entry, device)
        half = ENOUGH_WAITERS_PER_SLOT * self._limit(entry, device) / 2
        queued = len(device.queue) if waiting_ahead is None else waiting_ahead
        ahead = max(half, queued - half)
        now = asyncio.get_running_loop().time()
        due = max(now + ahead * per_request_s, device.comeback_at + per_request_s)
        device.comeback_at = due
        return due - now

    def _should_step_aside(self, entry: PbxEntry, device: _Device, wait_s: float) -> bool:
        """Whether a new task for the device should step aside rather than queue here: only
        when enough is queued to keep the device busy, and either the task would wait past
        wait_s (it comes back in time instead of timing out) or this process is short of room
        for other PBXs' tasks and some seem to be waiting (see ROOM_FOR_NEW_SHARE)."""
        queued = len(device.queue)
        if queued < ENOUGH_WAITERS_PER_SLOT * self._limit(entry, device):
            return False
        if queued * self._per_request_s(entry, device) > wait_s:
            return True
        short_of_room = self._total_waiting >= self._max_waiting
        return short_of_room and self._new_share > ROOM_FOR_NEW_SHARE

    async def _try(self, entry: PbxEntry, device: _Device, lease_id: str) -> float | None:
        """Ask Redis for a slot: None when taken, else how long to wait before asking again."""
        taken, wait_ms, interval_ms, expires_ms, max_inflight = await self._batch.script(
            self._acquire,
            [
                keys.device_leases(entry.base_url),
                keys.device_next_start(entry.base_url),
                keys.device_limits(entry.base_url),
            ],
            [lease_id, int(LEASE_S * 1000), entry.max_inflight, entry.min_interval_ms],
        )
        device.interval_ms = int(interval_ms)
        device.max_inflight = int(max_inflight)
        if int(taken):
            device.held += 1
            return None
        if int(wait_ms) >= 0:
            return int(wait_ms) / 1000  # min_interval_ms: the exact time to come back
        if device.held >= device.max_inflight:
            return float("inf")  # every slot is this process's: a local release wakes us
        return min(POLL_S, max(0.005, int(expires_ms) / 1000))

    async def acquire(self, entry: PbxEntry, wait_s: float, *, urgent: bool = False) -> str:
        """Take a slot of the entry's device, waiting at most wait_s; the lease id. An `urgent`
        request (a token call, which every queued request waits for) goes ahead of the waiters
        and never steps aside."""
        device = self._device(entry.base_url)
        new = not device.queue and not device.held
        self._new_share += NEW_SHARE_WEIGHT * (new - self._new_share)
        lease_id = owner_token()
        pause_s = float("inf")  # until a local release wakes us
        if (urgent or not device.queue) and device.held < self._limit(entry, device):
            pause = await self._try(entry, device, lease_id)
            if pause is None:
                return lease_id
            pause_s = pause
        if not urgent and self._should_step_aside(entry, device, wait_s):
            raise SlotUnavailableError(f"{entry.pbx} is saturated", self.comeback_in_s(entry))
        return await self._wait(entry, device, lease_id, wait_s, pause_s, urgent=urgent)

    def allows_back_to_back(self, entry: PbxEntry) -> bool:
        """Whether a slot held may carry a second request right after the first: not when the
        device has a `min_interval_ms` (as Redis last said, else as the entry says)."""
        interval_ms = self._device(entry.base_url).interval_ms
        return (entry.min_interval_ms if interval_ms < 0 else interval_ms) == 0

    async def _wait(
        self,
        entry: PbxEntry,
        device: _Device,
        lease_id: str,
        wait_s: float,
        pause_s: float,
        *,
        urgent: bool = False,
    ) -> str:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait_s
        waiter = _Waiter()
        (device.queue.appendleft if urgent else device.queue.append)(waiter)
        self._total_waiting += 1
        taken: str | None = None
        try:
            while True:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    comeback_s = self.comeback_in_s(entry, device.queue.index(waiter))
                    raise SlotUnavailableError(
                        f"{entry.pbx} stayed busy for {wait_s:.1f} s", comeback_s
                    )
                listening = pause_s != float("inf")  # held elsewhere, or min_interval_ms
                if listening:
                    self._listen(1)
                try:
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(min(pause_s, remaining)):
                            await waiter.wake.wait()
                finally:
                    if listening:
                        self._listen(-1)
                if waiter.lease_id is not None:
                    taken = waiter.lease_id  # handed over by a finished request
                    return taken
                waiter.wake.clear()
                pause_s = float("inf")
                if device.queue[0] is waiter and device.held < self._limit(entry, device):
                    pause = await self._try(entry, device, lease_id)
                    if pause is None:
                        taken = lease_id
                        return taken
                    pause_s = pause
        finally:
            self._total_waiting -= 1
            device.queue.remove(waiter)
            if waiter.lease_id is not None and waiter.lease_id != taken:
                # Handed a lease while asking Redis for one (or while giving up): pass it on.
                await self.release(entry, waiter.lease_id)
            elif device.queue and waiter.lease_id is None:
                device.queue[0].wake.set()  # the next in line looks again

    async def starting(self, entry: PbxEntry) -> None:
        """Called, slot held, right before a request leaves: with a `min_interval_ms`, the next
        request to the device may start that long from now."""
        device = self._device(entry.base_url)
        if device.interval_ms > 0:
            await self._batch.script(
                self._mark_start, [keys.device_next_start(entry.base_url)], [device.interval_ms]
            )

    def _hand_over(self, device: _Device, lease_id: str) -> bool:
        """Give the lease to the next local waiter, if any, if the device has no interval, and
        unless its limit was lowered below what this process holds (the limits are read again
        with every renewal of the leases in use: a later submit may store new ones)."""
        if device.interval_ms != 0 or device.held > device.max_inflight:
            return False
        # Same device, same lease: the waiter goes at once and Redis is not asked twice. Skip
        # waiters already handed one that have not woken up yet.
        for waiter in device.queue:
            if waiter.lease_id is None:
                waiter.lease_id = lease_id
                waiter.wake.set()
                return True
        return False

    async def release(self, entry: PbxEntry, lease_id: str) -> None:
        """Hand the slot to this process's next waiter for the device, or give it back."""
        device = self._device(entry.base_url)
        if not self._hand_over(device, lease_id):
            await self._give_back(entry, device, lease_id)

    async def _give_back(self, entry: PbxEntry, device: _Device, lease_id: str) -> None:
        self._in_use.pop(lease_id, None)
        if not self._in_use and self._renewal is not None:
            self._renewal.cancel()
            self._renewal = None
        try:
            await self._batch.script(
                self._release,
                [keys.device_leases(entry.base_url)],
                [lease_id, keys.SLOT_RELEASED, device.device_id],
            )
        finally:
            # Even if Redis failed us: the lease expires there, and local waiters must move on.
            device.held -= 1
            if device.queue:
                device.queue[0].wake.set()

    def _listen(self, change: int) -> None:
        """Count waiters that want other processes' releases; listen while there are any."""
        self._listening += change
        if self._listening and self._listener is None:
            self._listener = asyncio.create_task(self._wake_on_releases())
        elif not self._listening and self._listener is not None:
            self._listener.cancel()
            self._listener = None

    async def _wake_on_releases(self) -> None:
        """Wake the head waiter of each device whose slot another process gave back."""
        pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(keys.SLOT_RELEASED)
            while True:
                message = await pubsub.get_message(timeout=POLL_S)
                device = self._by_id.get(_text(message["data"])) if message else None
                if device and device.queue and device.queue[0].lease_id is None:
                    device.queue[0].wake.set()
        except Exception as exc:  # noqa: BLE001 - waiters fall back to polling
            log.warning("listening for released slots failed: %s", type(exc).__name__)
        finally:
            with contextlib.suppress(Exception):
                await pubsub.aclose()  # type: ignore[no-untyped-call] # unannotated in redis-py

    @asynccontextmanager
    async def slot(
        self, entry: PbxEntry, wait_s: float, *, urgent: bool = False
    ) -> AsyncIterator[None]:
        """Hold one slot of the device for the duration of one request (see acquire)."""
        lease_id = await self.acquire(entry, wait_s, urgent=urgent)
        self._in_use[lease_id] = entry.base_url
        if self._renewal is None:
            self._renewal = asyncio.create_task(self._renew_in_use())
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            yield
        finally:
            device = self._device(entry.base_url)
            device.hold_s = 0.8 * device.hold_s + 0.2 * (loop.time() - started)
            await self.release(entry, lease_id)  # handed over, the lease stays in use

    async def _renew_in_use(self) -> None:
        """Every LEASE_S / 3, push forward the expiry of every lease in use, and read again the
        limits of their devices (cancelled at none)."""
        while True:
            await asyncio.sleep(LEASE_S / 3)
            try:
                in_use = list(self._in_use.items())
                base_urls = sorted({base_url for _, base_url in in_use})
                async with self._redis.pipeline(transaction=False) as pipe:
                    for lease_id, base_url in in_use:
                        await self._renew(
                            keys=[keys.device_leases(base_url)],
                            args=[lease_id, int(LEASE_S * 1000)],
                            client=pipe,
                        )
                    for base_url in base_urls:
                        pipe.hmget(keys.device_limits(base_url), "max_inflight", "min_interval_ms")
                    results = await pipe.execute()
                self._update_limits(base_urls, results[len(in_use) :])
            except Exception as exc:  # noqa: BLE001 - keep renewing; a lease outlives one miss
                log.warning("renewing slot leases failed: %s", type(exc).__name__)

    def _update_limits(self, base_urls: list[str], limits: list[list[bytes | None]]) -> None:
        for base_url, (max_inflight, interval_ms) in zip(base_urls, limits, strict=True):
            device = self._devices.get(base_url)
            if device is not None and max_inflight is not None and interval_ms is not None:
                device.max_inflight = int(max_inflight)
                device.interval_ms = int(interval_ms)
