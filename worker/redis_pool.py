"""The worker's async Redis connections, with commands packed in C.

redis-py packs commands in C (hiredis) on its sync connections but in Python on its asyncio ones,
which made packing the largest single cost of the worker's Redis calls (`bench/delivery_cpu.py
--profile`). These connection classes pack as the sync ones do; everything else is redis-py's.
"""

from __future__ import annotations

from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.connection import AbstractConnection
from redis.connection import HiredisRespSerializer


class _PackedInC:
    _serializer = HiredisRespSerializer()

    def pack_command(self, *args: Any) -> list[bytes]:
        return self._serializer.pack(*args)  # type: ignore[no-any-return]


class Connection(_PackedInC, aioredis.Connection):
    """TCP."""


class SSLConnection(_PackedInC, aioredis.SSLConnection):
    """TLS (rediss://)."""


class UnixDomainSocketConnection(_PackedInC, aioredis.UnixDomainSocketConnection):
    """unix://"""


_PACKED_IN_C: dict[type[AbstractConnection], type[AbstractConnection]] = {
    aioredis.Connection: Connection,
    aioredis.SSLConnection: SSLConnection,
    aioredis.UnixDomainSocketConnection: UnixDomainSocketConnection,
}


def connection_pool(url: str, max_connections: int) -> aioredis.ConnectionPool:
    """A plain pool for `url` (any scheme redis-py reads) whose connections pack in C."""
    pool = aioredis.ConnectionPool.from_url(url, max_connections=max_connections)
    pool.connection_class = _PACKED_IN_C.get(pool.connection_class, pool.connection_class)
    return pool
