"""Keeps a process's slot leases alive while their requests run, and reads their devices'
limits again as it does (a later submit may store new ones)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import redis.asyncio as aioredis

from core import keys
from worker.pbx.limiter_scripts import RENEW_LUA

log = logging.getLogger(__name__)

# A lease lives this long unless renewed; leases in use are renewed every third of that, so a
# killed worker's slot frees itself within LEASE_S however long the PBX's timeout is.
LEASE_S = 10.0

# Called with the base URLs renewed and, for each, its stored [max_inflight, min_interval_ms].
LimitsRead = Callable[[list[str], list[list[bytes | None]]], None]


class LeaseKeeper:
    """One task per process renews every lease in use, in one pipeline; none runs while idle."""

    def __init__(self, redis: aioredis.Redis, on_limits: LimitsRead) -> None:
        self._redis = redis
        self._renew = redis.register_script(RENEW_LUA)
        self._on_limits = on_limits
        self._in_use: dict[str, str] = {}  # lease id -> its device's base URL
        self._renewal: asyncio.Task[None] | None = None

    def keep(self, lease_id: str, base_url: str) -> None:
        """Renew this lease from now on, until `drop`."""
        self._in_use[lease_id] = base_url
        if self._renewal is None:
            self._renewal = asyncio.create_task(self._renew_in_use())

    def drop(self, lease_id: str) -> None:
        """Stop renewing this lease (given back)."""
        self._in_use.pop(lease_id, None)
        if not self._in_use and self._renewal is not None:
            self._renewal.cancel()
            self._renewal = None

    async def _renew_in_use(self) -> None:
        """Every LEASE_S / 3, push forward the expiry of every lease in use, and read again the
        limits of their devices (cancelled at none)."""
        while True:
            await asyncio.sleep(LEASE_S / 3)
            try:
                in_use = list(self._in_use.items())
                base_urls = sorted({base_url for _, base_url in in_use})
                async with self._redis.pipeline(transaction=False) as pipe:
                    for lease_id, base_url in in_use:
                        await self._renew(
                            keys=[keys.device_leases(base_url)],
                            args=[lease_id, int(LEASE_S * 1000)],
                            client=pipe,
                        )
                    for base_url in base_urls:
                        pipe.hmget(keys.device_limits(base_url), "max_inflight", "min_interval_ms")
                    results = await pipe.execute()
                self._on_limits(base_urls, results[len(in_use) :])
            except Exception as exc:  # noqa: BLE001 - keep renewing; a lease outlives one miss
                log.warning("renewing slot leases failed: %s", type(exc).__name__)
