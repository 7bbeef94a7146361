"""DeviceLimiter against a real Redis: two limiters stand for two worker processes."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable

import pytest
import redis.asyncio as aioredis

from core import keys
from trunks.pbx import PbxEntry
from worker.pbx import lease_keeper, step_aside
from worker.pbx import limiter as limiter_module
from worker.pbx.errors import CircuitOpenError, SlotUnavailableError
from worker.pbx.limiter import DeviceLimiter

BASE_URL = "http://10.0.0.7:8088"


def _entry(max_inflight: int = 1, min_interval_ms: int = 0) -> PbxEntry:
    return PbxEntry(
        pbx="office",
        base_url=BASE_URL,
        client_id="cid",
        client_secret="secret",
        max_inflight=max_inflight,
        min_interval_ms=min_interval_ms,
    )


async def _wait_for(
    condition_name: str, condition: Callable[[], bool], timeout_s: float = 3.0
) -> None:
    """Poll a condition until it holds; fail at the deadline."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not condition():
        if loop.time() > deadline:
            pytest.fail(f"{condition_name} not reached within {timeout_s} s")
        await asyncio.sleep(0.005)


async def _wait_for_waiters(limiter: DeviceLimiter, count: int) -> None:
    await _wait_for(f"{count} waiters", lambda: limiter.waiting(BASE_URL) == count)


async def test_two_processes_never_exceed_max_inflight(redis_client: aioredis.Redis) -> None:
    entry = _entry(max_inflight=3)
    limiters = [DeviceLimiter(redis_client, max_waiting=100) for _ in range(2)]
    inflight = 0
    peak = 0
    done = 0

    async def hold(limiter: DeviceLimiter) -> None:
        nonlocal inflight, peak, done
        async with limiter.slot(entry, wait_s=10):
            inflight += 1
            peak = max(peak, inflight)
            await asyncio.sleep(0.02)  # the request in flight
            inflight -= 1
        done += 1

    await asyncio.gather(*(hold(limiters[n % 2]) for n in range(30)))
    assert done == 30
    assert peak == 3  # reached, and never more
    assert await redis_client.zcard(keys.device_leases(BASE_URL)) == 0


async def test_limits_stored_for_the_device_win_over_the_entry(
    redis_client: aioredis.Redis,
) -> None:
    # The latest stored inventory entry for the base URL sets the device's limits.
    await redis_client.hset(
        keys.device_limits(BASE_URL), mapping={"max_inflight": 1, "min_interval_ms": 0}
    )
    entry = _entry(max_inflight=5)
    limiter = DeviceLimiter(redis_client, max_waiting=100)
    inflight = peak = 0

    async def hold() -> None:
        nonlocal inflight, peak
        async with limiter.slot(entry, wait_s=10):
            inflight += 1
            peak = max(peak, inflight)
            await asyncio.sleep(0.01)
            inflight -= 1

    await asyncio.gather(*(hold() for _ in range(6)))
    assert peak == 1


async def test_min_interval_spaces_request_starts(redis_client: aioredis.Redis) -> None:
    entry = _entry(max_inflight=5, min_interval_ms=80)
    limiters = [DeviceLimiter(redis_client, max_waiting=100) for _ in range(2)]
    loop = asyncio.get_running_loop()
    starts: list[float] = []

    async def start(limiter: DeviceLimiter) -> None:
        async with limiter.slot(entry, wait_s=10):
            starts.append(loop.time())

    await asyncio.gather(*(start(limiters[n % 2]) for n in range(5)))
    starts.sort()
    gaps = [later - earlier for earlier, later in itertools.pairwise(starts)]
    # Redis's clock decides; a few ms of round-trip jitter show on this side.
    assert min(gaps) >= 0.07, gaps
    assert starts[-1] - starts[0] >= 4 * 0.08 - 0.01


async def test_a_crashed_holders_lease_frees_itself(
    redis_client: aioredis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lease_keeper, "LEASE_S", 0.3)
    entry = _entry(max_inflight=1)
    crashed = DeviceLimiter(redis_client, max_waiting=10)
    await crashed.acquire(entry, wait_s=1)  # taken, never released: the worker died
    survivor = DeviceLimiter(redis_client, max_waiting=10)
    with pytest.raises(SlotUnavailableError):
        await survivor.acquire(entry, wait_s=0.1)  # still held right after the crash
    loop = asyncio.get_running_loop()
    started = loop.time()
    async with survivor.slot(entry, wait_s=3):
        waited_s = loop.time() - started
    assert waited_s < 1.0  # within about one LEASE_S, not the default 10 s


async def test_a_held_lease_is_renewed_past_lease_s(
    redis_client: aioredis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A slow PBX request outlives LEASE_S: its lease must not expire under it.
    monkeypatch.setattr(lease_keeper, "LEASE_S", 0.3)
    entry = _entry(max_inflight=1)
    holder = DeviceLimiter(redis_client, max_waiting=10)
    other = DeviceLimiter(redis_client, max_waiting=10)
    async with holder.slot(entry, wait_s=1):
        with pytest.raises(SlotUnavailableError):
            await other.acquire(entry, wait_s=0.8)  # well past LEASE_S
    async with other.slot(entry, wait_s=1):
        pass


async def test_slot_unavailable_when_wait_runs_out(redis_client: aioredis.Redis) -> None:
    entry = _entry(max_inflight=1)
    holder = DeviceLimiter(redis_client, max_waiting=10)
    waiter = DeviceLimiter(redis_client, max_waiting=10)
    loop = asyncio.get_running_loop()
    async with holder.slot(entry, wait_s=1):
        started = loop.time()
        with pytest.raises(SlotUnavailableError) as info:
            await waiter.acquire(entry, wait_s=0.2)
        waited_s = loop.time() - started
    assert 0.2 <= waited_s < 0.6
    assert info.value.retry_in_s > 0
    assert waiter.waiting(BASE_URL) == 0  # the waiter left the queue
    async with waiter.slot(entry, wait_s=1):  # and nothing of it is left behind
        pass


async def test_saturated_process_steps_aside_at_once_and_in_turn(
    redis_client: aioredis.Redis,
) -> None:
    entry = _entry(max_inflight=1)
    enough = step_aside.ENOUGH_WAITERS_PER_SLOT
    limiter = DeviceLimiter(redis_client, max_waiting=enough)
    async with limiter.slot(entry, wait_s=1):
        waiters = [asyncio.create_task(limiter.acquire(entry, wait_s=5)) for _ in range(enough)]
        await _wait_for_waiters(limiter, enough)
        loop = asyncio.get_running_loop()
        started = loop.time()
        comebacks = []
        for _ in range(3):
            with pytest.raises(SlotUnavailableError) as info:
                await limiter.acquire(entry, wait_s=5)
            comebacks.append(info.value.retry_in_s)
        assert loop.time() - started < 0.1  # no waiting at all
    # Back while half the queue is still ahead, then one request's time apart, in turn.
    per_request_s = limiter_module.DEFAULT_HOLD_S
    assert comebacks[0] == pytest.approx(enough / 2 * per_request_s, abs=0.05)
    assert comebacks[1] - comebacks[0] == pytest.approx(per_request_s, abs=0.05)
    assert comebacks[2] - comebacks[1] == pytest.approx(per_request_s, abs=0.05)
    for waiter in waiters:  # the queued waiters get the slot, one after the other
        await limiter.release(entry, await waiter)


async def test_waiters_that_give_up_together_come_back_from_their_place_in_line(
    redis_client: aioredis.Redis,
) -> None:
    # A slow PBX: every waiter's wait runs out at about the same time. Counted from the whole
    # queue, the first of them would come back only after the others' time too, which none of
    # them will spend here: the PBX would sit idle.
    entry = _entry(max_inflight=1)
    limiter = DeviceLimiter(redis_client, max_waiting=100)
    per_request_s = limiter_module.DEFAULT_HOLD_S
    wait_s = 10 * per_request_s + 0.05  # 10 waiters: none steps aside on arriving
    async with limiter.slot(entry, wait_s=1):
        waiters = [asyncio.create_task(limiter.acquire(entry, wait_s=wait_s)) for _ in range(10)]
        results = await asyncio.gather(*waiters, return_exceptions=True)
    comebacks = sorted(
        result.retry_in_s for result in results if isinstance(result, SlotUnavailableError)
    )
    assert len(comebacks) == 10
    half = step_aside.ENOUGH_WAITERS_PER_SLOT / 2
    assert comebacks[0] == pytest.approx(half * per_request_s, abs=0.05)  # first in line
    gaps = [later - earlier for earlier, later in itertools.pairwise(comebacks)]
    assert gaps == pytest.approx([per_request_s] * 9, abs=0.05)  # then in turn


async def test_stepping_aside_for_room_stops_while_only_busy_pbxs_tasks_arrive(
    redis_client: aioredis.Redis,
) -> None:
    entry = _entry(max_inflight=1)
    enough = step_aside.ENOUGH_WAITERS_PER_SLOT
    limiter = DeviceLimiter(redis_client, max_waiting=1)  # always short of room
    waiters: list[asyncio.Task[str]] = []

    async def arrive() -> bool:
        """A new task for the busy PBX: True if it stepped aside, False if it waits."""
        task = asyncio.create_task(limiter.acquire(entry, wait_s=60))
        await _wait_for(
            "an answer", lambda: task.done() or limiter.waiting(BASE_URL) > len(waiters)
        )
        if task.done():
            with pytest.raises(SlotUnavailableError):
                task.result()
            return True
        waiters.append(task)
        return False

    async with limiter.slot(entry, wait_s=1):  # a PBX this process was not working on: new
        for _ in range(enough):
            assert not await arrive()  # not enough queued yet
        # Right after a new PBX's task, tasks beyond enough step aside to make room...
        assert await arrive()
        # ...but after a run of arrivals all for the PBX at work here, stepping aside would only
        # make room for more of the same: they wait.
        stepped = [await arrive() for _ in range(30)]
        assert stepped[0]
        assert not stepped[-1]
        # A task for another PBX arrives: there is more in the broker than this PBX's tasks.
        other = PbxEntry(
            pbx="branch", base_url="http://10.0.0.8:8088", client_id="c", client_secret="s"
        )
        async with limiter.slot(other, wait_s=1):
            pass
        assert await arrive()
    for waiter in waiters:
        await limiter.release(entry, await waiter)


async def test_a_pbx_with_few_waiters_keeps_its_tasks_under_pressure(
    redis_client: aioredis.Redis,
) -> None:
    entry = _entry(max_inflight=1)
    limiter = DeviceLimiter(redis_client, max_waiting=1)  # under pressure from the first waiter
    async with limiter.slot(entry, wait_s=1):
        waiters = [asyncio.create_task(limiter.acquire(entry, wait_s=5)) for _ in range(3)]
        await _wait_for_waiters(limiter, 3)  # fewer than enough to keep the PBX busy: they wait
    for waiter in waiters:
        await limiter.release(entry, await waiter)


async def test_local_waiters_are_served_in_fifo_order(redis_client: aioredis.Redis) -> None:
    entry = _entry(max_inflight=1)
    limiter = DeviceLimiter(redis_client, max_waiting=100)
    order: list[int] = []

    async def wait_then_hold(number: int) -> None:
        async with limiter.slot(entry, wait_s=5):
            order.append(number)
            await asyncio.sleep(0.005)

    tasks = []
    async with limiter.slot(entry, wait_s=1):
        for number in range(8):
            tasks.append(asyncio.create_task(wait_then_hold(number)))
            await _wait_for_waiters(limiter, number + 1)
    await asyncio.gather(*tasks)
    assert order == list(range(8))


@pytest.mark.parametrize("held_by", ["this process", "another process"])
async def test_an_urgent_request_goes_ahead_of_the_waiters(
    redis_client: aioredis.Redis, held_by: str
) -> None:
    # A token call: every queued request waits for the token, so it must not wait behind them.
    entry = _entry(max_inflight=1)
    limiter = DeviceLimiter(redis_client, max_waiting=100)
    holder = limiter if held_by == "this process" else DeviceLimiter(redis_client, 100)
    order: list[str] = []

    async def wait_then_hold(name: str, *, urgent: bool = False) -> None:
        async with limiter.slot(entry, wait_s=5, urgent=urgent):
            order.append(name)
            await asyncio.sleep(0.005)

    tasks = []
    async with holder.slot(entry, wait_s=1):
        for number in range(3):
            tasks.append(asyncio.create_task(wait_then_hold(f"queued-{number}")))
            await _wait_for_waiters(limiter, number + 1)
        tasks.append(asyncio.create_task(wait_then_hold("token call", urgent=True)))
        await _wait_for_waiters(limiter, 4)
    await asyncio.gather(*tasks)
    assert order == ["token call", "queued-0", "queued-1", "queued-2"]


async def test_other_devices_are_not_held_up(redis_client: aioredis.Redis) -> None:
    busy = _entry(max_inflight=1)
    other = PbxEntry(
        pbx="branch", base_url="http://10.0.0.8:8088", client_id="cid", client_secret="secret"
    )
    limiter = DeviceLimiter(redis_client, max_waiting=100)
    async with limiter.slot(busy, wait_s=1):
        waiting = asyncio.create_task(limiter.acquire(busy, wait_s=5))
        await _wait_for_waiters(limiter, 1)
        async with asyncio.timeout(0.5):
            async with limiter.slot(other, wait_s=0.5):
                pass
    await limiter.release(busy, await waiting)


async def test_min_interval_counts_from_when_the_request_leaves(
    redis_client: aioredis.Redis,
) -> None:
    entry = _entry(max_inflight=1, min_interval_ms=100)
    limiter = DeviceLimiter(redis_client, max_waiting=10)
    loop = asyncio.get_running_loop()
    async with limiter.slot(entry, wait_s=5):
        await asyncio.sleep(0.06)  # work between the slot's grant and the request leaving
        await limiter.starting(entry)
        left = loop.time()
    async with limiter.slot(entry, wait_s=5):
        assert loop.time() - left >= 0.095  # from the start, not from the grant


async def test_a_limit_lowered_by_a_later_entry_holds_from_the_next_renewal(
    redis_client: aioredis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Leases go from request to request inside the process; the device's stored limits (a
    # later submit's entry for the same base URL) must still take hold.
    monkeypatch.setattr(lease_keeper, "LEASE_S", 0.15)  # renewed, limits read, every 50 ms
    limits = keys.device_limits(BASE_URL)
    await redis_client.hset(limits, mapping={"max_inflight": 3, "min_interval_ms": 0})
    entry = _entry(max_inflight=3)
    limiter = DeviceLimiter(redis_client, max_waiting=100)
    loop = asyncio.get_running_loop()
    spans: list[tuple[float, float]] = []

    async def request() -> None:
        async with limiter.slot(entry, wait_s=20):
            started = loop.time()
            await asyncio.sleep(0.03)
            spans.append((started, loop.time()))

    requests = [asyncio.create_task(request()) for _ in range(40)]
    await _wait_for("3 in flight", lambda: len(spans) >= 3)
    await redis_client.hset(limits, "max_inflight", 1)
    lowered = loop.time()
    await asyncio.gather(*requests)
    late = [span for span in spans if span[0] > lowered + 0.2]
    assert late
    overlapping = max(sum(1 for s, e in late if s <= start < e) for start, _ in late)
    assert overlapping == 1


async def test_a_slot_given_back_elsewhere_reaches_a_waiter_of_a_process_holding_one(
    redis_client: aioredis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(limiter_module, "POLL_S", 30.0)  # so only the message can wake it in time
    entry = _entry(max_inflight=2)
    holder = DeviceLimiter(redis_client, max_waiting=10)
    other = DeviceLimiter(redis_client, max_waiting=10)
    held_elsewhere = await holder.acquire(entry, wait_s=1)
    held_here = await other.acquire(entry, wait_s=1)
    waiting = asyncio.create_task(other.acquire(entry, wait_s=20))
    await _wait_for_waiters(other, 1)
    await holder.release(entry, held_elsewhere)
    # Not only when its own request ends: the free slot is used at once.
    second = await asyncio.wait_for(waiting, timeout=5)
    for lease_id in (held_here, second):
        await other.release(entry, lease_id)
    assert await redis_client.zcard(keys.device_leases(BASE_URL)) == 0


async def test_a_release_hands_the_lease_to_the_next_local_waiter(
    redis_client: aioredis.Redis,
) -> None:
    entry = _entry(max_inflight=1)
    limiter = DeviceLimiter(redis_client, max_waiting=10)
    first = await limiter.acquire(entry, wait_s=1)
    waiter = asyncio.create_task(limiter.acquire(entry, wait_s=5))
    await _wait_for_waiters(limiter, 1)
    await limiter.release(entry, first)
    # The same lease, without a round trip to Redis: the PBX gets its next request at once.
    assert await waiter == first
    assert await redis_client.zrange(keys.device_leases(BASE_URL), 0, -1) == [first.encode()]
    await limiter.release(entry, first)
    assert await redis_client.zcard(keys.device_leases(BASE_URL)) == 0


async def test_no_hand_over_when_the_device_has_a_min_interval(
    redis_client: aioredis.Redis,
) -> None:
    entry = _entry(max_inflight=1, min_interval_ms=100)
    limiter = DeviceLimiter(redis_client, max_waiting=10)
    loop = asyncio.get_running_loop()
    first = await limiter.acquire(entry, wait_s=1)
    started = loop.time()
    waiter = asyncio.create_task(limiter.acquire(entry, wait_s=5))
    await _wait_for_waiters(limiter, 1)
    await limiter.release(entry, first)
    second = await waiter
    assert second != first  # asked Redis, which keeps the interval
    assert loop.time() - started >= 0.09
    await limiter.release(entry, second)


async def test_a_chain_of_handed_over_leases_is_renewed(
    redis_client: aioredis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lease_keeper, "LEASE_S", 0.3)
    entry = _entry(max_inflight=1)
    busy = DeviceLimiter(redis_client, max_waiting=10)
    other = DeviceLimiter(redis_client, max_waiting=10)

    async def request() -> None:
        async with busy.slot(entry, wait_s=5):
            await asyncio.sleep(0.25)

    chain = [asyncio.create_task(request()) for _ in range(4)]  # 1 s on one lease
    await asyncio.sleep(0.05)
    with pytest.raises(SlotUnavailableError):
        await other.acquire(entry, wait_s=0.7)  # past LEASE_S: the lease never lapsed
    await asyncio.gather(*chain)
    assert await redis_client.zcard(keys.device_leases(BASE_URL)) == 0
    async with other.slot(entry, wait_s=1):
        pass


async def test_a_release_in_one_process_wakes_a_waiter_in_another(
    redis_client: aioredis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(limiter_module, "POLL_S", 30.0)  # so only the message can wake it in time
    entry = _entry(max_inflight=1)
    holder = DeviceLimiter(redis_client, max_waiting=10)
    other = DeviceLimiter(redis_client, max_waiting=10)
    lease_id = await holder.acquire(entry, wait_s=1)
    waiting = asyncio.create_task(other.acquire(entry, wait_s=20))
    await _wait_for_waiters(other, 1)
    deadline = asyncio.get_running_loop().time() + 3
    while not (await redis_client.pubsub_numsub(keys.SLOT_RELEASED))[0][1]:
        assert asyncio.get_running_loop().time() < deadline, "the waiter never subscribed"
        await asyncio.sleep(0.01)
    await holder.release(entry, lease_id)
    other_lease = await asyncio.wait_for(waiting, timeout=5)
    await other.release(entry, other_lease)
    assert await redis_client.zcard(keys.device_leases(BASE_URL)) == 0


async def test_slots_work_for_a_redis_user_without_channel_permissions(
    no_channels_url: str,
) -> None:
    client = aioredis.Redis.from_url(no_channels_url)
    try:
        limiter = DeviceLimiter(client, max_waiting=10)
        for _ in range(3):  # each release gives the lease back; its announcement may not be made
            async with limiter.slot(_entry(min_interval_ms=1), wait_s=5):
                pass
    finally:
        await client.aclose()


async def test_a_slot_is_refused_once_the_jobs_circuit_for_the_pbx_is_open(
    redis_client: aioredis.Redis,
) -> None:
    # Another process met the PBX's refusal of the job's credentials and stored it before it gave
    # its slot back: the next request of that job, asking Redis for the slot, must not leave.
    entry = _entry(max_inflight=1)
    limiter = DeviceLimiter(redis_client, max_waiting=10)
    circuit = (keys.job_circuit("job-a"), keys.circuit_field(entry.base_url))
    async with limiter.slot(entry, wait_s=1, circuit=circuit):
        pass  # closed: the slot is given
    await redis_client.hset(
        circuit[0], circuit[1], '{"errcode": 10009, "errmsg": "OPERATION FAILED"}'
    )
    with pytest.raises(CircuitOpenError) as info:
        await limiter.acquire(entry, wait_s=1, circuit=circuit)
    assert (info.value.errcode, info.value.errmsg) == (10009, "OPERATION FAILED")
    assert not await redis_client.zcard(keys.device_leases(entry.base_url))  # no lease taken
    async with limiter.slot(entry, wait_s=1, circuit=(keys.job_circuit("job-b"), circuit[1])):
        pass  # another job's requests go on
