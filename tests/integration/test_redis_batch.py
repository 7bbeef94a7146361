"""RedisBatcher against a real Redis: one pipeline per turn, each caller its own outcome."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from jobs.redis_batch import RedisBatcher

INCR_BY = "return redis.call('INCRBY', KEYS[1], ARGV[1])"
FAILS = "return redis.error_reply('no such thing')"


@pytest.fixture
async def client(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(redis_url)
    yield client
    await client.aclose()


async def test_calls_of_one_turn_each_get_their_own_result(client: aioredis.Redis) -> None:
    batcher = RedisBatcher(client)
    incr_by = client.register_script(INCR_BY)
    results = await asyncio.gather(
        *(batcher.script(incr_by, [f"counter:{n % 3}"], [n]) for n in range(30))
    )
    # In call order within the pipeline: each result is its key's running total.
    totals = {0: 0, 1: 0, 2: 0}
    expected = []
    for n in range(30):
        totals[n % 3] += n
        expected.append(totals[n % 3])
    assert results == expected


async def test_a_failing_call_fails_alone(client: aioredis.Redis) -> None:
    batcher = RedisBatcher(client)
    incr_by = client.register_script(INCR_BY)
    fails = client.register_script(FAILS)
    outcomes = await asyncio.gather(
        batcher.script(incr_by, ["counter"], [1]),
        batcher.script(fails, [], []),
        batcher.script(incr_by, ["counter"], [1]),
        return_exceptions=True,
    )
    assert outcomes[0] == 1
    assert isinstance(outcomes[1], ResponseError)
    assert "no such thing" in str(outcomes[1])
    assert outcomes[2] == 2


async def test_scripts_unknown_to_redis_are_loaded_and_run(client: aioredis.Redis) -> None:
    batcher = RedisBatcher(client)
    incr_by = client.register_script(INCR_BY)
    assert await batcher.script(incr_by, ["counter"], [5]) == 5
    await client.script_flush()  # as after a Redis restart
    assert await asyncio.gather(*(batcher.script(incr_by, ["counter"], [1]) for _ in range(3))) == [
        6,
        7,
        8,
    ]


async def test_a_cancelled_caller_does_not_break_the_others(client: aioredis.Redis) -> None:
    batcher = RedisBatcher(client)
    incr_by = client.register_script(INCR_BY)
    first = asyncio.ensure_future(batcher.script(incr_by, ["counter"], [1]))
    second = asyncio.ensure_future(batcher.script(incr_by, ["counter"], [1]))
    await asyncio.sleep(0)  # both are queued for this turn's pipeline
    first.cancel()
    assert await second == 2  # the cancelled call still ran: scripts are not taken back
    assert int(await client.get("counter") or 0) == 2


async def _command_calls(client: aioredis.Redis, command: str) -> int:
    stats = await client.info("commandstats")
    # Redis 7 counts subcommands apart (script|load); 6.2, the embedded default's, does not.
    family = command.partition("|")[0]
    counted = stats.get(f"cmdstat_{command}") or stats.get(f"cmdstat_{family}")
    return int((counted or {}).get("calls", 0))


async def test_unknown_scripts_are_loaded_once_each_and_their_calls_sent_again_together(
    client: aioredis.Redis,
) -> None:
    batcher = RedisBatcher(client)
    incr_by = client.register_script(INCR_BY)
    decr_by = client.register_script("return redis.call('DECRBY', KEYS[1], ARGV[1])")
    await client.script_flush()  # a new Redis: neither script is known
    loads_before = await _command_calls(client, "script|load")
    evalsha_before = await _command_calls(client, "evalsha")
    results = await asyncio.gather(
        *(batcher.script(incr_by if n % 2 else decr_by, [f"k{n}"], [n]) for n in range(40))
    )
    assert results == [n if n % 2 else -n for n in range(40)]
    # Not one load and retry per call (a burst of claims on a fresh Redis took 250 ms that way).
    assert await _command_calls(client, "script|load") - loads_before == 2
    assert await _command_calls(client, "evalsha") - evalsha_before == 80


async def test_commands_share_the_pipeline_and_get_parsed_replies(client: aioredis.Redis) -> None:
    batcher = RedisBatcher(client)
    incr_by = client.register_script(INCR_BY)
    await client.hset("hash", mapping={"a": "1"})
    await client.set("text", "x")
    hash_reply, script_reply, wrong_type = await asyncio.gather(
        batcher.command("HGETALL", "hash"),
        batcher.script(incr_by, ["counter"], [3]),
        batcher.command("HGETALL", "text"),
        return_exceptions=True,
    )
    assert hash_reply == {b"a": b"1"}
    assert script_reply == 3
    assert isinstance(wrong_type, ResponseError)
    assert "WRONGTYPE" in str(wrong_type)


async def _connections_received(client: aioredis.Redis) -> int:
    return int((await client.info("stats"))["total_connections_received"])


async def test_a_burst_of_calls_opens_one_connection_not_one_per_call(
    client: aioredis.Redis, redis_url: str
) -> None:
    fresh = aioredis.Redis.from_url(redis_url)  # no pooled connection yet
    batcher = RedisBatcher(fresh)
    before = await _connections_received(client)
    try:
        replies = await asyncio.gather(*(batcher.command("INCR", f"n{i % 7}") for i in range(200)))
    finally:
        await fresh.aclose()
    assert sorted(replies)[-1] == 29  # 200 increments over 7 keys: the busiest saw 29
    assert await _connections_received(client) - before == 1
