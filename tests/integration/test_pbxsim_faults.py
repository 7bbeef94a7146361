"""Injected faults over real HTTP: each kind, nth vs every, per-PBX rules, presets."""

from __future__ import annotations

import time
from typing import Any

import aiohttp
import pytest

from pbxsim import FaultRule, SimulatorThread
from tests.sim_fixtures import *  # noqa: F403
from tests.sim_fixtures import api_call, get_token, peer_body

PBX = "pbx-001"


async def _create(
    http: aiohttp.ClientSession, sim: SimulatorThread, token: str, name: str, alias: str = PBX
) -> dict[str, Any]:
    base_url = sim.base_url(alias)
    return await api_call(http, base_url, "POST", "trunk/create", token=token, body=peer_body(name))


def _rule(kind: str, **options: Any) -> dict[str, Any]:
    return {"pbx": PBX, "endpoint": "trunk/create", "kind": kind, **options}


async def test_errcode_minus_two_on_the_nth_call_only(
    simulator: SimulatorThread, http: aiohttp.ClientSession
) -> None:
    simulator.set_faults([_rule("errcode-2", nth=2)])
    token = await get_token(http, simulator, PBX)
    codes = [(await _create(http, simulator, token, f"t{index}"))["errcode"] for index in range(4)]
    assert codes == [0, -2, 0, 0]
    assert [trunk["name"] for trunk in simulator.trunks(PBX)] == ["t0", "t2", "t3"]
    assert simulator.counters(PBX)["faults_injected"] == 1


async def test_every_kth_call_and_faulted_calls_count(
    simulator: SimulatorThread, http: aiohttp.ClientSession
) -> None:
    simulator.set_faults(
        [
            FaultRule("trunk/create", "errcode-2", every=2),
            FaultRule("trunk/create", "http503", nth=3),
        ]
    )
    token = await get_token(http, simulator, PBX)
    url = f"{simulator.base_url(PBX)}/openapi/v1.0/trunk/create"
    statuses = []
    for index in range(6):
        async with http.post(url, params={"access_token": token}, json=peer_body(f"t{index}")) as r:
            statuses.append((r.status, (await r.json())["errcode"] if r.status == 200 else None))
    assert statuses == [(200, 0), (200, -2), (503, None), (200, -2), (200, 0), (200, -2)]


async def test_http503_is_not_json(simulator: SimulatorThread, http: aiohttp.ClientSession) -> None:
    simulator.set_faults([{"endpoint": "get_token", "kind": "http503", "nth": 1}])
    url = f"{simulator.base_url(PBX)}/openapi/v1.0/get_token"
    async with http.post(url, json={}) as response:
        assert response.status == 503
        assert response.content_type != "application/json"
        with pytest.raises(aiohttp.ContentTypeError):
            await response.json()


async def test_forced_token_expired(
    simulator: SimulatorThread, http: aiohttp.ClientSession
) -> None:
    simulator.set_faults([{"endpoint": "trunk/list", "kind": "token_expired", "nth": 1}])
    token = await get_token(http, simulator, PBX)
    base_url = simulator.base_url(PBX)
    assert (await api_call(http, base_url, "GET", "trunk/list", token=token))["errcode"] == 10004
    assert (await api_call(http, base_url, "GET", "trunk/list", token=token))["errcode"] == 0


async def test_drop_before_stores_nothing(
    simulator: SimulatorThread, http: aiohttp.ClientSession
) -> None:
    simulator.set_faults([_rule("drop_before", nth=1)])
    token = await get_token(http, simulator, PBX)
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await _create(http, simulator, token, "office")
    assert simulator.trunks(PBX) == []
    assert simulator.counters(PBX)["creates"] == 0
    assert (await _create(http, simulator, token, "office"))["errcode"] == 0


async def test_drop_after_stores_the_trunk(
    simulator: SimulatorThread, http: aiohttp.ClientSession
) -> None:
    simulator.set_faults([_rule("drop_after", nth=1)])
    token = await get_token(http, simulator, PBX)
    with pytest.raises(aiohttp.ClientConnectionError):
        await _create(http, simulator, token, "office")
    assert [trunk["name"] for trunk in simulator.trunks(PBX)] == ["office"]
    assert simulator.counters(PBX)["creates"] == 1
    # The retry a client makes finds the trunk there.
    assert (await _create(http, simulator, token, "office"))["errcode"] == 40003


async def test_slow_adds_its_delay(simulator: SimulatorThread, http: aiohttp.ClientSession) -> None:
    simulator.set_faults([{"endpoint": "*", "kind": "slow", "nth": 1, "slow_ms": 150}])
    started = time.monotonic()
    token = await get_token(http, simulator, PBX)
    assert time.monotonic() - started >= 0.15
    assert (await _create(http, simulator, token, "office"))["errcode"] == 0


async def test_a_rule_for_one_pbx_spares_the_others(
    simulator: SimulatorThread, http: aiohttp.ClientSession
) -> None:
    simulator.set_faults([_rule("errcode-2")])
    other = await get_token(http, simulator, "pbx-002")
    assert (await _create(http, simulator, other, "office", alias="pbx-002"))["errcode"] == 0
    token = await get_token(http, simulator, PBX)
    assert (await _create(http, simulator, token, "office"))["errcode"] == -2


async def test_flaky_preset(simulator: SimulatorThread, http: aiohttp.ClientSession) -> None:
    simulator.set_faults("flaky")
    token = await get_token(http, simulator, PBX)
    outcomes: list[object] = []
    for index in range(6):
        try:
            outcomes.append((await _create(http, simulator, token, f"t{index}"))["errcode"])
        except aiohttp.ClientConnectionError:
            outcomes.append("dropped")
    assert outcomes == [0, 0, -2, 0, "dropped", -2]
    assert [trunk["name"] for trunk in simulator.trunks(PBX)] == ["t0", "t1", "t3", "t4"]


async def test_reset_clears_faults_and_call_counts(
    simulator: SimulatorThread, http: aiohttp.ClientSession
) -> None:
    simulator.set_faults([_rule("errcode-2", nth=1)])
    simulator.reset()
    token = await get_token(http, simulator, PBX)
    assert (await _create(http, simulator, token, "office"))["errcode"] == 0
    assert simulator.state(PBX)["faults"] == []


async def test_a_dropped_get_is_retried_once_by_aiohttp(
    simulator: SimulatorThread, http: aiohttp.ClientSession
) -> None:
    # aiohttp replays an idempotent request once after a disconnect: one drop goes unseen.
    simulator.set_faults([{"endpoint": "trunk/list", "kind": "drop_before", "nth": 1}])
    base_url = simulator.base_url(PBX)
    assert (await api_call(http, base_url, "GET", "trunk/list"))["errcode"] == 10004
    simulator.set_faults([{"endpoint": "trunk/list", "kind": "drop_before"}])
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await api_call(http, base_url, "GET", "trunk/list")
    assert simulator.counters(PBX)["requests"]["trunk/list"] == 4
