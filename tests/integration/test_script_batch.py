"""ScriptBatcher against a real Redis: one pipeline per turn, each caller its own outcome."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from jobs.script_batch import ScriptBatcher

INCR_BY = "return redis.call('INCRBY', KEYS[1], ARGV[1])"
FAILS = "return redis.error_reply('no such thing')"


@pytest.fixture
async def client(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(redis_url)
    yield client
    await client.aclose()


async def test_calls_of_one_turn_each_get_their_own_result(client: aioredis.Redis) -> None:
    batcher = ScriptBatcher(client)
    incr_by = client.register_script(INCR_BY)
    results = await asyncio.gather(
        *(batcher.run(incr_by, [f"counter:{n % 3}"], [n]) for n in range(30))
    )
    # In call order within the pipeline: each result is its key's running total.
    totals = {0: 0, 1: 0, 2: 0}
    expected = []
    for n in range(30):
        totals[n % 3] += n
        expected.append(totals[n % 3])
    assert results == expected


async def test_a_failing_call_fails_alone(client: aioredis.Redis) -> None:
    batcher = ScriptBatcher(client)
    incr_by = client.register_script(INCR_BY)
    fails = client.register_script(FAILS)
    outcomes = await asyncio.gather(
        batcher.run(incr_by, ["counter"], [1]),
        batcher.run(fails, [], []),
        batcher.run(incr_by, ["counter"], [1]),
        return_exceptions=True,
    )
    assert outcomes[0] == 1
    assert isinstance(outcomes[1], ResponseError)
    assert "no such thing" in str(outcomes[1])
    assert outcomes[2] == 2


async def test_scripts_unknown_to_redis_are_loaded_and_run(client: aioredis.Redis) -> None:
    batcher = ScriptBatcher(client)
    incr_by = client.register_script(INCR_BY)
    assert await batcher.run(incr_by, ["counter"], [5]) == 5
    await client.script_flush()  # as after a Redis restart
    assert await asyncio.gather(*(batcher.run(incr_by, ["counter"], [1]) for _ in range(3))) == [
        6,
        7,
        8,
    ]


async def test_a_cancelled_caller_does_not_break_the_others(client: aioredis.Redis) -> None:
    batcher = ScriptBatcher(client)
    incr_by = client.register_script(INCR_BY)
    first = asyncio.ensure_future(batcher.run(incr_by, ["counter"], [1]))
    second = asyncio.ensure_future(batcher.run(incr_by, ["counter"], [1]))
    await asyncio.sleep(0)  # both are queued for this turn's pipeline
    first.cancel()
    assert await second == 2  # the cancelled call still ran: scripts are not taken back
    assert int(await client.get("counter") or 0) == 2
