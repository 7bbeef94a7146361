"""Keys this process holds in Redis for a while (locks, leases), kept alive until it lets go.

Each lives a TTL unless renewed, so that a killed process's hold lapses by itself. One task per
process renews everything held, every third of the shortest TTL, in one pipeline; none runs
while nothing is held. A failed round is logged and the next one tries again: a hold outlives
one miss.
"""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from typing import Any, Generic, TypeVar

import redis.asyncio as aioredis
from redis.asyncio.client import Pipeline

V = TypeVar("V")


class Renewal(ABC, Generic[V]):
    """What a process holds of one kind (`what`), by key, each with its value V, and the task
    that renews them."""

    what = "held keys"  # as the log line says it

    def __init__(self, redis: aioredis.Redis) -> None:
        self._redis = redis
        self._held: dict[str, V] = {}
        self._renewal: asyncio.Task[None] | None = None
        self._log = logging.getLogger(type(self).__module__)

    def _keep(self, key: str, value: V) -> None:
        """Renew `key` from now on, until `_drop` (call on the event loop)."""
        self._held[key] = value
        if self._renewal is None:
            self._renewal = asyncio.create_task(self._renew_until_idle())

    def _drop(self, key: str) -> None:
        """Stop renewing `key`; the task ends with the last one."""
        self._held.pop(key, None)
        if not self._held and self._renewal is not None:
            self._renewal.cancel()
            self._renewal = None

    @abstractmethod
    def _period_s(self) -> float:
        """How long until the next round (a third of the shortest TTL held)."""

    @abstractmethod
    async def _queue_round(self, pipe: Pipeline, held: list[tuple[str, V]]) -> None:
        """Queue on `pipe` the commands that renew `held`."""

    def _renewed(self, held: list[tuple[str, V]], results: list[Any]) -> None:
        """Called with the pipeline's results after a round went through."""

    async def _renew_until_idle(self) -> None:
        while True:
            await asyncio.sleep(self._period_s())
            try:
                held = list(self._held.items())
                async with self._redis.pipeline(transaction=False) as pipe:
                    await self._queue_round(pipe, held)
                    results = await pipe.execute()
                self._renewed(held, results)
            except Exception as exc:  # noqa: BLE001 - the next round tries again
                self._log.warning("renewing %s failed: %s", self.what, type(exc).__name__)
