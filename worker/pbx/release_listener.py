"""Hears of slots that other processes give back (a message on keys.SLOT_RELEASED), while some
local waiter is waiting on a device whose slots they hold."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

import redis.asyncio as aioredis

from core import keys

log = logging.getLogger(__name__)

# The listener wakes this often even without a message (cancelling it never waits on Redis).
LISTEN_S = 1.0


def _text(data: bytes | str) -> str:
    return data.decode() if isinstance(data, bytes) else data


class ReleaseListener:
    """Subscribed while anyone wants to hear; calls `on_release(device_id)` for each release."""

    def __init__(self, redis: aioredis.Redis, on_release: Callable[[str], None]) -> None:
        self._redis = redis
        self._on_release = on_release
        self._wanted = 0  # waiters that want to hear of other processes' releases
        self._listener: asyncio.Task[None] | None = None

    def want(self, change: int) -> None:
        """Count waiters that want releases (+1 / -1); listen while there are any."""
        self._wanted += change
        if self._wanted and self._listener is None:
            self._listener = asyncio.create_task(self._listen())
        elif not self._wanted and self._listener is not None:
            self._listener.cancel()
            self._listener = None

    async def _listen(self) -> None:
        pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(keys.SLOT_RELEASED)
            while True:
                message = await pubsub.get_message(timeout=LISTEN_S)
                if message:
                    self._on_release(_text(message["data"]))
        except Exception as exc:  # noqa: BLE001 - waiters fall back to polling
            log.warning("listening for released slots failed: %s", type(exc).__name__)
        finally:
            with contextlib.suppress(Exception):
                await pubsub.aclose()
