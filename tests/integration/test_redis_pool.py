"""The worker's Redis pool: redis-py's connections, with timeouts, for every URL scheme."""

from __future__ import annotations

import asyncio

import pytest
import redis.asyncio as aioredis
from redis.exceptions import TimeoutError as RedisTimeoutError

from worker import redis_pool


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("redis://localhost:6379/3", aioredis.Connection),
        ("rediss://localhost:6380/3", aioredis.SSLConnection),
        ("unix:///run/redis.sock?db=3", aioredis.UnixDomainSocketConnection),
    ],
)
def test_every_scheme_keeps_its_kind_of_connection(url: str, kind: type) -> None:
    pool = redis_pool.connection_pool(url, max_connections=4)
    assert pool.connection_class is kind
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


async def test_a_redis_that_stops_answering_fails_the_call_instead_of_hanging_it() -> None:
    # A server that accepts the connection and then never answers (a half-open connection).
    done = asyncio.Event()

    async def silent(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await done.wait()
        writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    pool = redis_pool.connection_pool(f"redis://127.0.0.1:{port}/1", 4, socket_timeout_s=0.3)
    client = aioredis.Redis(connection_pool=pool)
    try:
        with pytest.raises(RedisTimeoutError):
            await asyncio.wait_for(client.ping(), timeout=10)
    finally:
        await client.aclose(close_connection_pool=True)
        done.set()
        server.close()
        await server.wait_closed()
