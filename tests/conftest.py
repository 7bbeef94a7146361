"""Shared fixtures: a real Redis on a free port (never anyone's database 0), rollouts."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest
import redis
import redis.asyncio as aioredis

from core.embedded_redis import EmbeddedRedis
from tests.e2e import rollout
from tests.redis_server import RedisServer

__all__ = [
    "data_dir", "no_channels_url", "redis_client", "redis_server", "redis_url", "rollout",
    "session",
]  # fmt: skip
_DATA_DIR = pytest.StashKey[tuple[Path, str | None]]()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Slow tests first: in the parallel suite they then overlap the rest instead of ending it."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


def pytest_configure(config: pytest.Config) -> None:
    """The session's own data directory, set before any test module is imported: the embedded
    Redis of anything run without TRUNKCTL_REDIS_URL (a command, or importing `worker`, whose
    Celery app resolves its broker at import) lives there, never in the user's."""
    path = Path(tempfile.mkdtemp(prefix="trunkctl-data-"))
    config.stash[_DATA_DIR] = (path, os.environ.get("TRUNKCTL_DATA_DIR"))
    os.environ["TRUNKCTL_DATA_DIR"] = str(path)


def pytest_unconfigure(config: pytest.Config) -> None:
    """Stop the session's embedded Redis, if anything started it, and forget its directory."""
    path, previous = config.stash[_DATA_DIR]
    EmbeddedRedis(path).stop()
    shutil.rmtree(path, ignore_errors=True)
    if previous is None:
        os.environ.pop("TRUNKCTL_DATA_DIR", None)
    else:
        os.environ["TRUNKCTL_DATA_DIR"] = previous


@pytest.fixture(scope="session")
def data_dir(pytestconfig: pytest.Config) -> Path:
    """The session's data directory (see pytest_configure)."""
    path: Path = pytestconfig.stash[_DATA_DIR][0]
    return path


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
async def redis_client(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    """An asyncio client of the test's clean database (the worker's side)."""
    client = aioredis.Redis.from_url(redis_url)
    yield client
    await client.aclose()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    """An aiohttp session, as a worker's PBX clients share one."""
    async with aiohttp.ClientSession() as client_session:
        yield client_session


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
