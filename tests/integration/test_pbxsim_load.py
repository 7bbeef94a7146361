"""Load behaviour: latency, the per-PBX limit of requests in flight, violations and peaks."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import aiohttp

from pbxsim import SimulatorThread
from tests.sim_fixtures import *  # noqa: F403
from tests.sim_fixtures import api_call, get_token, wait_until

PBX = "pbx-001"
SimulatorFactory = Callable[..., SimulatorThread]


def _inflight(sim: SimulatorThread, alias: str = PBX) -> Callable[[], bool]:
    def check() -> bool:
        return bool(sim.counters(alias)["inflight"] >= sim.state(alias)["max_inflight"])

    return check


async def test_a_request_beyond_the_limit_is_refused_at_once(
    simulator_factory: SimulatorFactory, http: aiohttp.ClientSession
) -> None:
    sim = simulator_factory(pbx_count=2, latency_ms=300)
    row = sim.inventory_rows()[0]
    login = {"username": row["client_id"], "password": row["client_secret"]}
    # Token calls hold a slot too.
    held = asyncio.create_task(api_call(http, row["base_url"], "POST", "get_token", body=login))
    await wait_until(_inflight(sim))
    started = time.monotonic()
    refused = await api_call(http, row["base_url"], "GET", "trunk/list", token="t")
    assert refused == {"errcode": 70082, "errmsg": "OVERLOAD_TASK_RUNNING"}
    assert time.monotonic() - started < 0.25
    # Another PBX has its own limit.
    assert await get_token(http, sim, "pbx-002")
    assert (await held)["errcode"] == 0
    counters = sim.counters(PBX)
    assert (counters["violations"], counters["peak_inflight"], counters["inflight"]) == (1, 1, 0)
    assert counters["requests"] == {"get_token": 1, "trunk/list": 1}


async def test_a_higher_limit_allows_that_many(
    simulator_factory: SimulatorFactory, http: aiohttp.ClientSession
) -> None:
    sim = simulator_factory(pbx_count=1, latency_ms=300, max_inflight=2)
    assert sim.inventory_rows()[0]["max_inflight"] == 2
    base_url = sim.base_url(PBX)
    held = [
        asyncio.create_task(api_call(http, base_url, "GET", "trunk/list", token="t"))
        for _ in range(2)
    ]
    await wait_until(_inflight(sim))
    assert (await api_call(http, base_url, "GET", "trunk/list"))["errcode"] == 70082
    assert [answer["errcode"] for answer in await asyncio.gather(*held)] == [10004, 10004]
    counters = sim.counters(PBX)
    assert (counters["violations"], counters["peak_inflight"]) == (1, 2)


async def test_sequential_requests_never_violate(
    simulator: SimulatorThread, http: aiohttp.ClientSession
) -> None:
    token = await get_token(http, simulator, PBX)
    for _ in range(5):
        await api_call(http, simulator.base_url(PBX), "GET", "trunk/list", token=token)
    counters = simulator.counters(PBX)
    assert (counters["violations"], counters["peak_inflight"]) == (0, 1)


async def test_fixed_latency_delays_each_answer(
    simulator_factory: SimulatorFactory, http: aiohttp.ClientSession
) -> None:
    sim = simulator_factory(pbx_count=1, latency_ms=120)
    started = time.monotonic()
    await api_call(http, sim.base_url(PBX), "GET", "trunk/list")
    assert time.monotonic() - started >= 0.12


async def test_latency_range_delays_each_answer_within_it(
    simulator_factory: SimulatorFactory, http: aiohttp.ClientSession
) -> None:
    sim = simulator_factory(pbx_count=1, latency_range_ms=(60.0, 90.0), seed=3)
    for _ in range(3):
        started = time.monotonic()
        await api_call(http, sim.base_url(PBX), "GET", "trunk/list")
        assert time.monotonic() - started >= 0.06
