"""Keeps a process's slot leases alive while their requests are in flight, and reads their
devices' limits again as it does (a later submit may store new ones)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.client import Pipeline

from core import keys
from jobs.renewal import Renewal
from worker.pbx.limiter_scripts import RENEW_LUA

# A lease lives this long unless renewed: a killed worker's slot frees itself within LEASE_S,
# however long the PBX's timeout is.
LEASE_S = 10.0

# Called with the base URLs renewed and, for each, its stored [max_inflight, min_interval_ms].
LimitsRead = Callable[[list[str], list[list[bytes | None]]], None]


class LeaseKeeper(Renewal[str]):
    """The leases in use in this process (lease id -> its device's base URL), renewed until
    given back."""

    what = "slot leases"

    def __init__(self, redis: aioredis.Redis, on_limits: LimitsRead) -> None:
        super().__init__(redis)
        self._renew = redis.register_script(RENEW_LUA)
        self._on_limits = on_limits

    def keep(self, lease_id: str, base_url: str) -> None:
        """Renew this lease from now on, until `drop`."""
        self._keep(lease_id, base_url)

    def drop(self, lease_id: str) -> None:
        """Stop renewing this lease (given back)."""
        self._drop(lease_id)

    def _period_s(self) -> float:
        return LEASE_S / 3

    async def _queue_round(self, pipe: Pipeline, held: list[tuple[str, str]]) -> None:
        for lease_id, base_url in held:
            await self._renew(
                keys=[keys.device_leases(base_url)],
                args=[lease_id, int(LEASE_S * 1000)],
                client=pipe,
            )
        for base_url in _devices(held):
            pipe.hmget(keys.device_limits(base_url), "max_inflight", "min_interval_ms")

    def _renewed(self, held: list[tuple[str, str]], results: list[Any]) -> None:
        self._on_limits(_devices(held), results[len(held) :])


def _devices(held: list[tuple[str, str]]) -> list[str]:
    return sorted({base_url for _lease_id, base_url in held})
