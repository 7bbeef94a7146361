"""Shared fixtures: a real Redis on a free port (never anyone's database 0), rollouts."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from core.embedded_redis import EmbeddedRedis
from tests.e2e import rollout
from tests.redis_server import RedisServer

__all__ = ["data_dir", "no_channels_url", "redis_server", "redis_url", "rollout"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Slow tests first: in the parallel suite they then overlap the rest instead of ending it."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.fixture(scope="session", autouse=True)
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The session's own data directory (the embedded Redis of a command run without
    TRUNKCTL_REDIS_URL lives there, never in the user's), its server stopped at the end."""
    path = tmp_path_factory.mktemp("trunkctl-data")
    previous = os.environ.get("TRUNKCTL_DATA_DIR")
    os.environ["TRUNKCTL_DATA_DIR"] = str(path)
    yield path
    EmbeddedRedis(path).stop()
    if previous is None:
        del os.environ["TRUNKCTL_DATA_DIR"]
    else:
        os.environ["TRUNKCTL_DATA_DIR"] = previous


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


@pytest.fixture
def no_channels_url(redis_url: str) -> Iterator[str]:
    """The test database as a Redis ACL user that may use every key but no pub/sub channel."""
    admin = redis.Redis.from_url(redis_url)
    admin.acl_setuser(
        "nochannels", enabled=True, passwords=["+pw"], keys=["*"], commands=["+@all"],
        reset_channels=True,
    )  # fmt: skip
    yield redis_url.replace("redis://", "redis://nochannels:pw@", 1)
    admin.acl_deluser("nochannels")
    admin.close()
