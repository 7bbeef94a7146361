"""The async side of a worker process: one event loop thread, started once, shared by all tasks.

The loop owns the aiohttp session, the async Redis client, the token cache and the limiter, so
that their state lives as long as the process, not as long as a task.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

import aiohttp
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from core.settings import Settings
from jobs.item_store import CLAIM_LUA, MARK_SENDING_LUA, ItemStore
from jobs.locks import UNLOCK_LUA
from jobs.transitions import TRANSITION_LUA
from trunks.pbx import PbxEntry
from worker.delivery import Delivery
from worker.pbx.client import PbxClient
from worker.pbx.connection import OnUnusable, PbxConnection
from worker.pbx.limiter import DeviceLimiter
from worker.pbx.limiter_scripts import ACQUIRE_LUA, MARK_START_LUA, RELEASE_LUA, RENEW_LUA
from worker.pbx.tokens import (
    INVALIDATE_LUA,
    READ_OR_LOCK_LUA,
    STORE_AND_UNLOCK_LUA,
    TokenCache,
)
from worker.redis_pool import connection_pool

T = TypeVar("T")
log = logging.getLogger(__name__)

# The worker's Lua scripts, loaded into Redis at start-up: otherwise each call of the first burst
# of tasks on a new Redis meets NOSCRIPT and loads its script itself.
SCRIPTS = (
    CLAIM_LUA, MARK_SENDING_LUA, TRANSITION_LUA, UNLOCK_LUA, ACQUIRE_LUA, RELEASE_LUA,
    RENEW_LUA, MARK_START_LUA, READ_OR_LOCK_LUA, STORE_AND_UNLOCK_LUA, INVALIDATE_LUA,
)  # fmt: skip


class WorkerRuntime:
    """The per-process event loop and the objects that live on it."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="trunkctl-loop", daemon=True
        )
        self._thread.start()
        self.delivery: Delivery = self.await_on_loop(self._start())

    async def _start(self) -> Delivery:
        # The PBX closes every connection after its answer, so pooling would only hold dead sockets.
        connector = aiohttp.TCPConnector(limit=0, force_close=True)
        # The API takes no cookies: none are kept (nor carried from one request to the next).
        self._session = aiohttp.ClientSession(
            connector=connector, cookie_jar=aiohttp.DummyCookieJar()
        )
        # A plain pool, not a blocking one (a timer and a condition per command): calls share a
        # pipeline per loop turn, so it stays small.
        pool = connection_pool(
            self.settings.redis_url,
            max_connections=2 * self.settings.worker_concurrency + 16,
        )
        self._redis = aioredis.Redis(connection_pool=pool)
        # Keep a quarter of the task slots free of waiting, for the tasks of other PBXs.
        self._limiter = DeviceLimiter(
            self._redis,
            self.settings.worker_concurrency * 3 // 4,
            max_comeback_s=self.settings.defer_cap_s,
        )
        self._tokens = TokenCache(self._redis, probe_every_s=self.settings.hung_pbx_probe_s)
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for script in SCRIPTS:
                    pipe.script_load(script)
                await pipe.execute()
        except RedisError as exc:  # each call loads its script when it finds it missing
            log.warning("could not load scripts into Redis: %s", type(exc).__name__)
        log.info("trunkctl worker: %d task slots", self.settings.worker_concurrency)
        return Delivery(ItemStore(self._redis), self._connect, self.settings)

    def _connect(self, entry: PbxEntry, job_id: str, on_unusable: OnUnusable) -> PbxConnection:
        client = PbxClient(self._session, entry, self.settings.user_agent)
        return PbxConnection(
            entry, client, self._limiter, self._tokens, self.settings.slot_wait_s,
            job_id=job_id, on_unusable=on_unusable,
        )  # fmt: skip

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The event loop (on its own thread)."""
        return self._loop

    def await_on_loop(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Await a coroutine on the loop from any other thread; its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    def close(self) -> None:
        """Close the session and the Redis client, then stop the loop."""

        async def _close() -> None:
            await self._session.close()
            await self._redis.aclose(close_connection_pool=True)  # the pool is ours

        self.await_on_loop(_close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        if not self._thread.is_alive():
            self._loop.close()
        log.info("trunkctl worker: PBX connections and Redis pool closed")


_runtime: WorkerRuntime | None = None
_runtime_lock = threading.Lock()


def runtime(settings: Settings) -> WorkerRuntime:
    """This process's runtime, started on first use (after a fork, never before)."""
    global _runtime  # noqa: PLW0603 - one runtime per process is the point
    if _runtime is not None:  # every task asks: no lock once it exists
        return _runtime
    with _runtime_lock:
        if _runtime is None:
            _runtime = WorkerRuntime(settings)
        return _runtime


def close_runtime(**_: Any) -> None:
    """Close this process's runtime, if it was started (at worker shutdown, once the pool has
    finished its tasks)."""
    global _runtime  # noqa: PLW0603 - see runtime()
    with _runtime_lock:
        if _runtime is not None:
            _runtime.close()
            _runtime = None
