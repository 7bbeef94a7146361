"""Async Redis connections that pack commands in C, as redis-py's sync ones do.

redis-py packs commands in C (hiredis) on its sync connections but in Python on its asyncio ones.
Private names relied on (redis-py 8.2): `redis.connection.HiredisRespSerializer` (its `pack`), and
`AbstractConnection.pack_command` as the one place a connection packs. The stock path
(TRUNKCTL_STOCK_CELERY) keeps redis-py's own classes.
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


def packed_in_c(connection_class: type[AbstractConnection]) -> type[AbstractConnection]:
    """The class that packs in C for one of redis-py's async connection classes."""
    return _PACKED_IN_C.get(connection_class, connection_class)
