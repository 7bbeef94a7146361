"""The simulator's token endpoints over real HTTP: get, cap, block, refresh, revoke, expiry."""

from __future__ import annotations

from typing import Any

import aiohttp

from pbxsim import ManualClock, SimulatorThread
from tests.sim_fixtures import *  # noqa: F403
from tests.sim_fixtures import api_call, get_token

PBX = "pbx-001"


def _row(sim: SimulatorThread, alias: str = PBX) -> dict[str, str]:
    return next(row for row in sim.inventory_rows() if row["pbx"] == alias)


async def _login(
    http: aiohttp.ClientSession, sim: SimulatorThread, secret: str | None = None, **options: Any
) -> dict[str, Any]:
    row = _row(sim)
    body = {"username": row["client_id"], "password": secret or row["client_secret"]}
    return await api_call(http, row["base_url"], "POST", "get_token", body=body, **options)


async def test_get_token_answers_a_pair_with_ttl_durations(
    simulator: SimulatorThread, http: aiohttp.ClientSession
) -> None:
    answer = await _login(http, simulator)
    assert answer["errcode"] == 0
    assert answer["errmsg"] == "SUCCESS"
    assert answer["access_token_expire_time"] == 1800
    assert answer["refresh_token_expire_time"] == 86400
    assert answer["access_token"] != answer["refresh_token"]
    counters = simulator.counters(PBX)
    assert (counters["logins_ok"], counters["tokens_issued"], counters["active_tokens"]) == (
        1,
        1,
        1,
    )


async def test_wrong_secret_fails_and_is_counted(
    simulator: SimulatorThread, http: aiohttp.ClientSession
) -> None:
    answer = await _login(http, simulator, secret="wrong")
    assert answer == {"errcode": -1, "errmsg": "FAILURE"}
    assert simulator.counters(PBX)["logins_failed"] == 1


async def test_get_token_body_must_be_a_json_object(
    simulator: SimulatorThread, http: aiohttp.ClientSession
) -> None:
    base_url = simulator.base_url(PBX)
    assert (await api_call(http, base_url, "POST", "get_token", data=b"{"))["errcode"] == 40001
    answer = await api_call(http, base_url, "POST", "get_token", body={"username": "x"})
    assert answer["errcode"] == 40002
    assert answer["invalid_param_list"][0]["field"] == "password"
    assert simulator.counters(PBX)["logins_failed"] == 0


async def test_five_failures_block_the_ip_until_unblocked(
    simulator: SimulatorThread, http: aiohttp.ClientSession
) -> None:
    for _ in range(5):
        assert (await _login(http, simulator, secret="wrong"))["errcode"] == -1
    blocked = await _login(http, simulator)
    assert blocked["errcode"] == 70004
    assert blocked["errmsg"] == "ACCOUNT IP BLOCKED"
    assert "block_expire_time" in blocked
    listed = await api_call(http, simulator.base_url(PBX), "GET", "trunk/list", token="t")
    assert listed["errcode"] == 70004
    assert simulator.counters(PBX)["blocked_ips"] == ["127.0.0.1"]
    # Other PBXs keep their own blocks.
    assert (await get_token(http, simulator, "pbx-002")) != ""
    simulator.unblock(PBX, "127.0.0.1")
    assert (await _login(http, simulator))["errcode"] == 0


async def test_a_success_resets_the_consecutive_failures(
    simulator: SimulatorThread, http: aiohttp.ClientSession
) -> None:
    for _ in range(4):
        await _login(http, simulator, secret="wrong")
    assert (await _login(http, simulator))["errcode"] == 0
    for _ in range(4):
        await _login(http, simulator, secret="wrong")
    assert (await _login(http, simulator))["errcode"] == 0
    assert simulator.counters(PBX)["blocked_ips"] == []


async def test_a_block_concerns_one_caller_ip(simulator: SimulatorThread) -> None:
    connector = aiohttp.TCPConnector(local_addr=("127.0.0.2", 0))
    async with aiohttp.ClientSession(connector=connector) as other_ip:
        for _ in range(5):
            await _login(other_ip, simulator, secret="wrong")
        assert (await _login(other_ip, simulator))["errcode"] == 70004
    async with aiohttp.ClientSession() as http:
        assert (await _login(http, simulator))["errcode"] == 0
    assert simulator.counters(PBX)["blocked_ips"] == ["127.0.0.2"]


async def test_a_corrected_secret_works(
    simulator: SimulatorThread, http: aiohttp.ClientSession
) -> None:
    old_secret = _row(simulator)["client_secret"]
    simulator.set_secret(PBX, "NewSecret123")
    assert (await _login(http, simulator, secret=old_secret))["errcode"] == -1
    assert (await _login(http, simulator, secret="NewSecret123"))["errcode"] == 0
    assert _row(simulator)["client_secret"] == "NewSecret123"


async def test_at_most_eight_valid_tokens(
    simulator: SimulatorThread, http: aiohttp.ClientSession
) -> None:
    tokens = [await get_token(http, simulator, PBX) for _ in range(8)]
    assert (await _login(http, simulator)) == {
        "errcode": 60002,
        "errmsg": "MAX LIMITATION EXCEEDED",
    }
    counters = simulator.counters(PBX)
    assert (counters["token_cap_hits"], counters["active_tokens"]) == (1, 8)
    # Revoking one frees a place.
    base_url = simulator.base_url(PBX)
    revoked = await api_call(http, base_url, "GET", "del_token", params={"access_token": tokens[0]})
    assert revoked["errcode"] == 0
    assert (await _login(http, simulator))["errcode"] == 0


async def test_expired_tokens_free_places_and_are_refused(
    simulator: SimulatorThread, http: aiohttp.ClientSession, sim_clock: ManualClock
) -> None:
    tokens = [await get_token(http, simulator, PBX) for _ in range(8)]
    base_url = simulator.base_url(PBX)
    sim_clock.advance(1799)
    assert (await api_call(http, base_url, "GET", "trunk/list", token=tokens[0]))["errcode"] == 0
    sim_clock.advance(1)
    expired = await api_call(http, base_url, "GET", "trunk/list", token=tokens[0])
    assert expired == {"errcode": 10004, "errmsg": "TOKEN EXPIRED"}
    assert simulator.counters(PBX)["active_tokens"] == 0
    assert (await _login(http, simulator))["errcode"] == 0


async def test_refresh_gives_a_new_pair_and_retires_the_old(
    simulator: SimulatorThread, http: aiohttp.ClientSession
) -> None:
    base_url = simulator.base_url(PBX)
    first = await _login(http, simulator)
    body = {"refresh_token": first["refresh_token"]}
    second = await api_call(http, base_url, "POST", "refresh_token", body=body)
    assert second["errcode"] == 0
    assert second["access_token"] != first["access_token"]
    assert second["refresh_token"] != first["refresh_token"]
    old = await api_call(http, base_url, "GET", "trunk/list", token=str(first["access_token"]))
    assert old["errcode"] == 10004
    assert (await api_call(http, base_url, "GET", "trunk/list", token=second["access_token"]))[
        "errcode"
    ] == 0
    reused = await api_call(http, base_url, "POST", "refresh_token", body=body)
    assert reused["errcode"] == 10004
    assert simulator.counters(PBX)["tokens_issued"] == 2


async def test_expired_or_unknown_refresh_token_is_refused(
    simulator: SimulatorThread, http: aiohttp.ClientSession, sim_clock: ManualClock
) -> None:
    base_url = simulator.base_url(PBX)
    unknown = await api_call(http, base_url, "POST", "refresh_token", body={"refresh_token": "x"})
    assert unknown["errcode"] == 10004
    pair = await _login(http, simulator)
    sim_clock.advance(86400)
    body = {"refresh_token": pair["refresh_token"]}
    assert (await api_call(http, base_url, "POST", "refresh_token", body=body))["errcode"] == 10004


async def test_del_token_revokes_that_token(
    simulator: SimulatorThread, http: aiohttp.ClientSession
) -> None:
    base_url = simulator.base_url(PBX)
    token = await get_token(http, simulator, PBX)
    assert (await api_call(http, base_url, "GET", "del_token", token=token))["errcode"] == 0
    assert (await api_call(http, base_url, "GET", "trunk/list", token=token))["errcode"] == 10004
    assert (await api_call(http, base_url, "GET", "del_token", token=token))["errcode"] == 10004
    assert simulator.counters(PBX)["active_tokens"] == 0


async def test_calls_without_a_valid_token_are_refused(
    simulator: SimulatorThread, http: aiohttp.ClientSession
) -> None:
    base_url = simulator.base_url(PBX)
    assert (await api_call(http, base_url, "GET", "trunk/list"))["errcode"] == 10004
    assert (await api_call(http, base_url, "GET", "trunk/list", token="nope"))["errcode"] == 10004
    # A token of one PBX means nothing to another.
    token = await get_token(http, simulator, "pbx-002")
    assert (await api_call(http, base_url, "GET", "trunk/list", token=token))["errcode"] == 10004
