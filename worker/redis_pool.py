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
    _serializer = HiredisRespSerializer()  # type: ignore[no-untyped-call] # unannotated

    def pack_command(self, *args: Any) -> list[bytes]:
        return self._serializer.pack(*args)  # type: ignore[no-any-return] # unannotated in redis-py


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


# A Redis that stops answering (a half-open connection after a network fault, a paused server)
# fails the call after this long instead of hanging the task, and the lock renewals with it,
# for good. Options in the URL itself (`?socket_timeout=...`) take precedence.
SOCKET_TIMEOUT_S = 30.0
CONNECT_TIMEOUT_S = 10.0


def connection_pool(
    url: str, max_connections: int, *, socket_timeout_s: float = SOCKET_TIMEOUT_S
) -> aioredis.ConnectionPool:
    """A plain pool for `url` (any scheme redis-py reads) whose connections pack in C and give up
    on a Redis that does not answer within `socket_timeout_s`."""
    pool = aioredis.ConnectionPool.from_url(
        url,
        max_connections=max_connections,
        socket_timeout=socket_timeout_s,
        socket_connect_timeout=min(CONNECT_TIMEOUT_S, socket_timeout_s),
    )
    pool.connection_class = _PACKED_IN_C.get(pool.connection_class, pool.connection_class)
    return pool


def redis_url_problem(url: str) -> str | None:
    """What keeps redis-py from using `url`, found without connecting (a scheme it does not
    know, an option in the query string it does not take), or None."""
    try:
        connection_pool(url, max_connections=1).make_connection()  # type: ignore[no-untyped-call] # unannotated in redis-py
    except (ValueError, TypeError) as exc:  # redis-py's messages never hold the URL itself
        return str(exc)
    return None
