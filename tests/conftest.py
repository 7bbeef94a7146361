"""Shared fixtures: a real Redis on a free port (never anyone's database 0), rollouts."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from tests.e2e import rollout
from tests.redis_server import RedisServer

__all__ = ["redis_server", "redis_url", "rollout"]


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """One redis-server process for the whole test session."""
    server = RedisServer()
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> Iterator[str]:
    """A clean database on the session's Redis server, flushed after each test."""
    url = redis_server.url()
    client = redis.Redis.from_url(url)
    client.flushdb()
    yield url
    client.flushdb()
    client.close()
