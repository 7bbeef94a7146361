"""The inspection API under /_sim/ over real HTTP: state, reset, faults, secrets, trunks."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from pbxsim import SimulatorThread
from tests.sim_fixtures import *  # noqa: F403
from tests.sim_fixtures import api_call, get_token, peer_body

PBX = "pbx-001"


async def _sim(
    http: aiohttp.ClientSession, sim: SimulatorThread, method: str, path: str, body: Any = None
) -> tuple[int, dict[str, Any]]:
    async with http.request(method, f"{sim.root_url}/_sim{path}", json=body) as response:
        return response.status, await response.json()


async def test_state_of_all_and_of_one(
    simulator: SimulatorThread, http: aiohttp.ClientSession
) -> None:
    await get_token(http, simulator, PBX)
    status, state = await _sim(http, simulator, "GET", "/state")
    assert status == 200
    assert state["pbx_count"] == 3
    assert list(state["pbxs"]) == ["pbx-001", "pbx-002", "pbx-003"]
    one = state["pbxs"][PBX]
    assert one["trunks"] == []
    assert set(one["counters"]) >= {
        "logins_ok", "logins_failed", "tokens_issued", "active_tokens", "creates", "duplicates",
        "violations", "peak_inflight", "token_cap_hits", "blocked_ips", "requests",
    }  # fmt: skip
    assert one["counters"]["logins_ok"] == 1
    status, light = await _sim(http, simulator, "GET", "/state?trunks=0")
    assert "trunks" not in light["pbxs"][PBX]
    status, single = await _sim(http, simulator, "GET", f"/pbx/{PBX}")
    assert (status, single["pbx"], single["counters"]["logins_ok"]) == (200, PBX, 1)
    # Secrets stay out of the state.
    row = simulator.inventory_rows()[0]
    async with http.get(f"{simulator.root_url}/_sim/state") as response:
        assert row["client_secret"] not in await response.text()


async def test_unknown_pbx_and_bad_input(
    simulator: SimulatorThread, http: aiohttp.ClientSession
) -> None:
    assert (await _sim(http, simulator, "GET", "/pbx/pbx-777"))[0] == 404
    assert (await _sim(http, simulator, "POST", "/faults", {"rules": [{"kind": "x"}]}))[0] == 400
    assert (await _sim(http, simulator, "POST", "/faults", {"preset": "nope"}))[0] == 400
    assert (await _sim(http, simulator, "POST", f"/pbx/{PBX}/trunks", {"trunks": [{}]}))[0] == 400
    assert (await _sim(http, simulator, "POST", f"/pbx/{PBX}/settings", {"max_inflight": 0}))[
        0
    ] == 400


async def test_reset_one_or_all(simulator: SimulatorThread, http: aiohttp.ClientSession) -> None:
    for alias in ("pbx-001", "pbx-002"):
        simulator.preload_trunks(alias, [peer_body("office")])
    status, answer = await _sim(http, simulator, "POST", "/reset", {"pbx": "pbx-001"})
    assert (status, answer) == (200, {"ok": True, "reset": ["pbx-001"]})
    assert simulator.trunks("pbx-001") == []
    assert len(simulator.trunks("pbx-002")) == 1
    await _sim(http, simulator, "POST", "/reset")
    assert simulator.trunks("pbx-002") == []
    simulator.preload_trunks("pbx-003", [peer_body("office")])
    assert (await _sim(http, simulator, "POST", "/pbx/pbx-003/reset"))[1]["reset"] == ["pbx-003"]
    assert simulator.trunks("pbx-003") == []


async def test_faults_set_and_read(simulator: SimulatorThread, http: aiohttp.ClientSession) -> None:
    rule = {"pbx": PBX, "endpoint": "trunk/list", "kind": "errcode-2", "nth": 1}
    status, answer = await _sim(http, simulator, "POST", "/faults", {"rules": [rule]})
    assert status == 200
    assert answer["rules"] == [{**rule, "every": None, "slow_ms": 0}]
    assert (await _sim(http, simulator, "GET", "/faults"))[1]["rules"] == answer["rules"]
    token = await get_token(http, simulator, PBX)
    listed = await api_call(http, simulator.base_url(PBX), "GET", "trunk/list", token=token)
    assert listed == {"errcode": -2, "errmsg": "INTERNAL SERVER ERROR"}
    _, preset = await _sim(http, simulator, "POST", "/faults", {"preset": "chaos"})
    assert {rule["kind"] for rule in preset["rules"]} == {
        "errcode-2", "http503", "token_expired", "drop_before", "drop_after", "slow",
    }  # fmt: skip


async def test_secret_change_preload_unblock_and_settings(
    simulator: SimulatorThread, http: aiohttp.ClientSession
) -> None:
    row = simulator.inventory_rows()[0]
    path = f"/pbx/{PBX}"
    assert (await _sim(http, simulator, "POST", path + "/secret", {"client_secret": "S3cret"}))[
        1
    ] == {"ok": True}
    login = {"username": row["client_id"], "password": "S3cret"}
    assert (await api_call(http, row["base_url"], "POST", "get_token", body=login))["errcode"] == 0
    _, loaded = await _sim(http, simulator, "POST", path + "/trunks", {"trunks": [peer_body("a")]})
    assert loaded == {"ok": True, "ids": [1]}
    duplicate = {"trunks": [peer_body("a")]}
    assert (await _sim(http, simulator, "POST", path + "/trunks", duplicate))[0] == 400
    for _ in range(5):
        await api_call(http, row["base_url"], "POST", "get_token", body={**login, "password": "x"})
    assert simulator.counters(PBX)["blocked_ips"] == ["127.0.0.1"]
    assert (await _sim(http, simulator, "POST", path + "/unblock"))[0] == 200
    assert simulator.counters(PBX)["blocked_ips"] == []
    _, settings = await _sim(http, simulator, "POST", path + "/settings", {"max_inflight": 4})
    assert settings["max_inflight"] == 4
    assert simulator.inventory_rows()[0]["max_inflight"] == 4


@pytest.mark.parametrize("body", [[1], {"pbx": 3}])
async def test_reset_refuses_bad_bodies(
    simulator: SimulatorThread, http: aiohttp.ClientSession, body: Any
) -> None:
    assert (await _sim(http, simulator, "POST", "/reset", body))[0] == 400


async def test_trunks_in_use_are_set_through_settings_and_cleared_by_a_reset(
    simulator: SimulatorThread, http: aiohttp.ClientSession
) -> None:
    path = f"/pbx/{PBX}/settings"
    status, _ = await _sim(http, simulator, "POST", path, {"trunks_in_use": ["office", "home"]})
    assert status == 200
    assert simulator.state(PBX)["trunks_in_use"] == ["home", "office"]
    for bad in ("office", [1], {"office": True}):
        assert (await _sim(http, simulator, "POST", path, {"trunks_in_use": bad}))[0] == 400
    rule = {"endpoint": "trunk/delete", "kind": "errcode", "errcode": 70091}
    _, answer = await _sim(http, simulator, "POST", "/faults", {"rules": [rule]})
    assert answer["rules"] == [{**rule, "pbx": "*", "nth": None, "every": None, "slow_ms": 0}]
    await _sim(http, simulator, "POST", f"/pbx/{PBX}/reset")
    assert simulator.state(PBX)["trunks_in_use"] == []
