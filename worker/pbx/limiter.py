"""Per-device limits held in Redis across every worker process and machine.

`max_inflight` is a semaphore of leases (a sorted set scored by expiry: a killed worker's slot
frees itself) and `min_interval_ms` a "next start" time, both checked and taken by one Lua script
on the Redis server's clock. Within a process, waiters for a device queue FIFO at no cost: a
finished request hands its lease straight to the next one (unless the device has an interval),
else gives it back to Redis and says so on a channel. A task that would find enough already
queued may step aside instead (step_aside.py); leases in use are renewed (lease_keeper.py).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import redis.asyncio as aioredis

from core import keys
from jobs.item_store import DAMAGED_CIRCUIT, read_circuit
from jobs.locks import owner_token
from jobs.redis_batch import RedisBatcher
from trunks.pbx import PbxEntry
from worker.pbx import lease_keeper
from worker.pbx.errors import CircuitOpenError, SlotUnavailableError
from worker.pbx.lease_keeper import LeaseKeeper
from worker.pbx.limiter_scripts import ACQUIRE_LUA, MARK_START_LUA, RELEASE_LUA
from worker.pbx.release_listener import ReleaseListener
from worker.pbx.step_aside import StepAsidePolicy, comeback_at

# While other processes hold every slot, the head waiter asks again when it hears of a release,
# when the soonest lease would expire (its holder died), or after this long (a missed message).
POLL_S = 1.0
# What the acquire script answers when the job's circuit for the PBX is open.
CIRCUIT_OPEN = 2
# A job's circuits (the Redis hash) and the device's field in it, which a request must find closed.
Circuit = tuple[str, str]
# Until the PBX's requests are timed, a request is guessed to take this long (a typical PBX).
DEFAULT_HOLD_S = 0.2


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

    def __init__(
        self, redis: aioredis.Redis, max_waiting: int, *, max_comeback_s: float = float("inf")
    ) -> None:
        self._redis = redis
        self._acquire = redis.register_script(ACQUIRE_LUA)
        self._release = redis.register_script(RELEASE_LUA)
        self._mark_start = redis.register_script(MARK_START_LUA)
        # Acquires and releases of one loop turn (a burst of tasks starting) share a pipeline.
        self._batch = RedisBatcher(redis)
        self._devices: dict[str, _Device] = {}
        # Waiting costs nothing, but a waiting task holds one of the process's places for tasks:
        # past max_waiting waiters the process is short of room.
        self._policy = StepAsidePolicy(max_waiting)
        # A task that steps aside is back within this long, however long its PBX's backlog.
        self._max_comeback_s = max_comeback_s
        self._leases = LeaseKeeper(redis, self._update_limits)
        self._by_id: dict[str, _Device] = {}
        self._releases = ReleaseListener(redis, self._released_elsewhere)

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
        """In how long a task that steps aside now should come back (step_aside.comeback_at),
        behind `waiting_ahead` waiters (default: the local queue; those behind give up too)."""
        device = self._device(entry.base_url)
        queued = len(device.queue) if waiting_ahead is None else waiting_ahead
        now = asyncio.get_running_loop().time()
        device.comeback_at = comeback_at(
            now,
            queued,
            self._limit(entry, device),
            self._per_request_s(entry, device),
            device.comeback_at,
            horizon_s=self._max_comeback_s,
        )
        return device.comeback_at - now

    async def _try(
        self, entry: PbxEntry, device: _Device, lease_id: str, circuit: Circuit | None
    ) -> float | None:
        """Ask Redis for a slot: None when taken, else how long to wait before asking again;
        CircuitOpenError when `circuit` (a job's circuits key, the device's field) is open."""
        lease_ms = int(lease_keeper.LEASE_S * 1000)
        script_keys = [
            keys.device_leases(entry.base_url),
            keys.device_next_start(entry.base_url),
            keys.device_limits(entry.base_url),
        ]
        args: list[str | int] = [lease_id, lease_ms, entry.max_inflight, entry.min_interval_ms]
        if circuit is not None:
            script_keys.append(circuit[0])
            args.append(circuit[1])
        taken, wait_ms, interval_ms, expires_ms, max_inflight, *reason = await self._batch.script(
            self._acquire, script_keys, args
        )
        if int(taken) == CIRCUIT_OPEN:
            raise CircuitOpenError.from_reason(read_circuit(reason[0]) or DAMAGED_CIRCUIT)
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

    async def acquire(
        self,
        entry: PbxEntry,
        wait_s: float,
        *,
        urgent: bool = False,
        circuit: Circuit | None = None,
    ) -> str:
        """Take a slot of the entry's device, waiting at most wait_s; the lease id. An `urgent`
        request (a token call every waiter needs) goes first and never steps aside. With a
        `circuit`, Redis refuses the slot once it is open (CircuitOpenError)."""
        device = self._device(entry.base_url)
        self._policy.arrived(new_device=not device.queue and not device.held)
        lease_id = owner_token()
        pause_s = float("inf")  # until a local release wakes us
        if (urgent or not device.queue) and device.held < self._limit(entry, device):
            pause = await self._try(entry, device, lease_id, circuit)
            if pause is None:
                return lease_id
            pause_s = pause
        limit, per_request_s = self._limit(entry, device), self._per_request_s(entry, device)
        if not urgent and self._policy.should_step_aside(
            len(device.queue), limit, per_request_s, wait_s
        ):
            raise SlotUnavailableError(f"{entry.pbx} is saturated", self.comeback_in_s(entry))
        return await self._wait(
            entry, device, lease_id, wait_s, pause_s, urgent=urgent, circuit=circuit
        )

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
        circuit: Circuit | None = None,
    ) -> str:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait_s
        waiter = _Waiter()
        (device.queue.appendleft if urgent else device.queue.append)(waiter)
        self._policy.waiting += 1
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
                    self._releases.want(1)
                try:
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(min(pause_s, remaining)):
                            await waiter.wake.wait()
                finally:
                    if listening:
                        self._releases.want(-1)
                if waiter.lease_id is not None:
                    taken = waiter.lease_id  # handed over by a finished request
                    return taken
                waiter.wake.clear()
                pause_s = float("inf")
                if device.queue[0] is waiter and device.held < self._limit(entry, device):
                    pause = await self._try(entry, device, lease_id, circuit)
                    if pause is None:
                        taken = lease_id
                        return taken
                    pause_s = pause
        finally:
            self._policy.waiting -= 1
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
        """Give the lease to the next local waiter, if any, unless the device has an interval or
        its limit (read again with each renewal) was lowered below what this process holds."""
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
        self._leases.drop(lease_id)
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

    @asynccontextmanager
    async def slot(
        self,
        entry: PbxEntry,
        wait_s: float,
        *,
        urgent: bool = False,
        circuit: Circuit | None = None,
    ) -> AsyncIterator[None]:
        """Hold one slot of the device for the duration of one request (see acquire)."""
        lease_id = await self.acquire(entry, wait_s, urgent=urgent, circuit=circuit)
        self._leases.keep(lease_id, entry.base_url)
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            yield
        finally:
            device = self._device(entry.base_url)
            device.hold_s = 0.8 * device.hold_s + 0.2 * (loop.time() - started)
            await self.release(entry, lease_id)  # handed over, the lease stays in use

    def _released_elsewhere(self, device_id: str) -> None:
        """Another process gave a slot of this device back: its head waiter looks again."""
        device = self._by_id.get(device_id)
        if device and device.queue and device.queue[0].lease_id is None:
            device.queue[0].wake.set()

    def _update_limits(self, base_urls: list[str], limits: list[list[bytes | None]]) -> None:
        for base_url, (max_inflight, interval_ms) in zip(base_urls, limits, strict=True):
            device = self._devices.get(base_url)
            if device is not None and max_inflight is not None and interval_ms is not None:
                device.max_inflight = int(max_inflight)
                device.interval_ms = int(interval_ms)
