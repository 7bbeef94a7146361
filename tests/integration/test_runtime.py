"""The worker's per-process runtime against a real Redis."""

from __future__ import annotations

import hashlib

import redis

from trunkctl.settings import Settings
from worker.runtime import SCRIPTS, WorkerRuntime


def _sha(script: str) -> str:
    return hashlib.sha1(script.encode()).hexdigest()  # noqa: S324 - Redis names scripts by SHA-1


def test_start_up_loads_every_script_into_redis(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    client.script_flush()  # as a new Redis
    runtime = WorkerRuntime(Settings(redis_url=redis_url))
    try:
        assert client.script_exists(*map(_sha, SCRIPTS)) == [True] * len(SCRIPTS)
    finally:
        runtime.close()
        client.close()
