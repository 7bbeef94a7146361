"""The worker's Redis pool: redis-py's connections, packing commands in C, for every URL scheme."""

from __future__ import annotations

import pytest
import redis.asyncio as aioredis

from worker import redis_pool


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("redis://localhost:6379/3", redis_pool.Connection),
        ("rediss://localhost:6380/3", redis_pool.SSLConnection),
        ("unix:///run/redis.sock?db=3", redis_pool.UnixDomainSocketConnection),
    ],
)
def test_every_scheme_keeps_its_kind_of_connection(url: str, expected: type) -> None:
    pool = redis_pool.connection_pool(url, max_connections=4)
    assert pool.connection_class is expected
    assert pool.max_connections == 4


async def test_values_of_every_type_round_trip(redis_url: str) -> None:
    client = aioredis.Redis(connection_pool=redis_pool.connection_pool(redis_url, 4))
    try:
        values = {"text": "héllo wörld", "bytes": b"\x00\xff", "int": 42, "float": 0.5}
        async with client.pipeline(transaction=False) as pipe:
            pipe.hset("hash", mapping=values)  # type: ignore[arg-type]
            pipe.hgetall("hash")
            _, stored = await pipe.execute()
        assert stored == {
            b"text": "héllo wörld".encode(), b"bytes": b"\x00\xff", b"int": b"42",
            b"float": b"0.5",
        }  # fmt: skip
        assert await client.execute_command("ECHO", "CLIENT SETINFO") == b"CLIENT SETINFO"
    finally:
        await client.aclose(close_connection_pool=True)
