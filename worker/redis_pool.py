"""The worker's async Redis connection pool: redis-py's own, with timeouts."""

from __future__ import annotations

import redis.asyncio as aioredis

# A Redis that stops answering (a half-open connection, a paused server) fails the call instead of
# hanging the task and the lock renewals for good; the URL's own options take precedence.
SOCKET_TIMEOUT_S = 30.0
CONNECT_TIMEOUT_S = 10.0


def connection_pool(
    url: str,
    max_connections: int,
    *,
    socket_timeout_s: float = SOCKET_TIMEOUT_S,
) -> aioredis.ConnectionPool:
    """A plain pool for `url` (any scheme redis-py reads) whose connections give up on a Redis
    that does not answer within `socket_timeout_s`."""
    return aioredis.ConnectionPool.from_url(
        url,
        max_connections=max_connections,
        socket_timeout=socket_timeout_s,
        socket_connect_timeout=min(CONNECT_TIMEOUT_S, socket_timeout_s),
    )


def redis_url_problem(url: str) -> str | None:
    """What keeps redis-py from using `url`, found without connecting (a scheme it does not
    know, an option in the query string it does not take), or None."""
    try:
        connection_pool(url, max_connections=1).make_connection()  # type: ignore[no-untyped-call] # unannotated in redis-py
    except (ValueError, TypeError) as exc:  # redis-py's messages never hold the URL itself
        return str(exc)
    return None
