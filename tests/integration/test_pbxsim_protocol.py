"""Request rules every endpoint shares: routing by prefix, User-Agent, method, JSON answers."""

from __future__ import annotations

import aiohttp
import pytest

from pbxsim import SimulatorThread
from tests.sim_fixtures import *  # noqa: F403
from tests.sim_fixtures import api_call, get_token

PBX = "pbx-001"


async def test_each_pbx_has_its_own_prefix_credentials_and_trunks(
    simulator: SimulatorThread, http: aiohttp.ClientSession
) -> None:
    rows = simulator.inventory_rows()
    assert [row["pbx"] for row in rows] == ["pbx-001", "pbx-002", "pbx-003"]
    assert rows[1]["base_url"] == simulator.root_url + "/pbx-002"
    assert len({row["client_secret"] for row in rows}) == 3
    assert {row["max_inflight"] for row in rows} == {1}
    simulator.preload_trunks("pbx-002", [{"name": "only-here"}], validate=False)
    for alias, expected in (("pbx-001", 0), ("pbx-002", 1)):
        token = await get_token(http, simulator, alias)
        listed = await api_call(http, simulator.base_url(alias), "GET", "trunk/list", token=token)
        assert listed["total_number"] == expected


async def test_missing_user_agent_is_a_parameter_error(
    simulator: SimulatorThread, http: aiohttp.ClientSession
) -> None:
    row = simulator.inventory_rows()[0]
    body = {"username": row["client_id"], "password": row["client_secret"]}
    answer = await api_call(
        http, row["base_url"], "POST", "get_token", body=body, skip_auto_headers=["User-Agent"]
    )
    assert answer == {"errcode": 40002, "errmsg": "PARAMETER ERROR"}
    assert simulator.counters(PBX)["logins_ok"] == 0


@pytest.mark.parametrize(
    ("method", "endpoint"),
    [
        ("GET", "get_token"),
        ("POST", "trunk/list"),
        ("POST", "trunk/delete"),
        ("GET", "trunk/create"),
        ("GET", "trunk/nothing"),
        ("POST", "no_such_endpoint"),
        ("PUT", "trunk/create"),
    ],
)
async def test_wrong_method_or_unknown_endpoint_does_not_exist(
    simulator: SimulatorThread, http: aiohttp.ClientSession, method: str, endpoint: str
) -> None:
    token = await get_token(http, simulator, PBX)
    answer = await api_call(http, simulator.base_url(PBX), method, endpoint, token=token)
    assert answer == {"errcode": 10001, "errmsg": "INTERFACE NOT EXISTED"}


async def test_an_unknown_pbx_prefix_is_an_http_404(
    simulator: SimulatorThread, http: aiohttp.ClientSession
) -> None:
    url = f"{simulator.root_url}/pbx-999/openapi/v1.0/get_token"
    async with http.post(url, json={}) as response:
        assert response.status == 404


async def test_errors_are_http_200_json_and_requests_are_counted(
    simulator: SimulatorThread, http: aiohttp.ClientSession
) -> None:
    url = f"{simulator.base_url(PBX)}/openapi/v1.0/trunk/list"
    async with http.get(url) as response:
        assert response.status == 200
        assert response.content_type == "application/json"
        assert (await response.json())["errcode"] == 10004
        # The PBX closes each connection after its answer.
        assert response.headers.get("Connection", "").lower() == "close"
    await get_token(http, simulator, PBX)
    assert simulator.counters(PBX)["requests"] == {"trunk/list": 1, "get_token": 1}
