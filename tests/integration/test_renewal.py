"""The one renewal loop of locks and leases (jobs.renewal), against a real Redis."""

from __future__ import annotations

import asyncio
import logging

import pytest
import redis.asyncio as aioredis
from redis.asyncio.client import Pipeline

from jobs.held_locks import HeldLocks

TTL_MS = 600  # renewed every 200 ms


def _renewal_tasks() -> set[asyncio.Task[object]]:
    return {
        task
        for task in asyncio.all_tasks()
        if getattr(task.get_coro(), "__qualname__", "").endswith("_renew_until_idle")
    }


async def test_one_task_renews_while_anything_is_held_and_none_while_idle(
    redis_client: aioredis.Redis,
) -> None:
    locks = HeldLocks(redis_client)
    for n in range(3):
        await redis_client.set(f"lock-{n}", "me", px=TTL_MS)
        locks.hold(f"lock-{n}", "me", TTL_MS)
    running = _renewal_tasks()
    assert len(running) == 1
    locks.let_go("lock-0")
    locks.let_go("lock-1")
    assert _renewal_tasks() == running
    locks.let_go("lock-2")
    await asyncio.sleep(0)  # the cancelled task ends at its next step
    assert not _renewal_tasks()
    assert all(task.cancelled() for task in running)


class _FailsOnce(HeldLocks):
    """Locks whose first round of renewals fails (as a Redis out of reach would)."""

    rounds = 0

    async def _queue_round(self, pipe: Pipeline, held: list[tuple[str, tuple[str, int]]]) -> None:
        self.rounds += 1
        if self.rounds == 1:
            raise ConnectionError("Redis went away")
        await super()._queue_round(pipe, held)


async def test_a_failed_round_is_logged_and_the_next_renews(
    redis_client: aioredis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    locks = _FailsOnce(redis_client)
    await redis_client.set("lock", "me", px=TTL_MS)
    locks.hold("lock", "me", TTL_MS)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while locks.rounds < 4:  # past the lock's first lifetime
        assert loop.time() < deadline, "no fourth round of renewals"
        await asyncio.sleep(0.05)
    assert await redis_client.get("lock") == b"me"
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == ["renewing locks failed: ConnectionError"]
    locks.let_go("lock")
