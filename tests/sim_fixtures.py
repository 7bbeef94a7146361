"""Pytest fixtures and helpers that run the Yeastar simulator (pbxsim) in-process.

Use from a conftest or a test module: `from tests.sim_fixtures import *  # noqa: F403`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from typing import Any

import aiohttp
import pytest

from pbxsim import AsyncSimulator, ManualClock, SimSettings, SimulatorThread

__all__ = [
    "SIM_PBX_COUNT",
    "PbxApi",
    "api",
    "api_call",
    "async_simulator",
    "get_token",
    "http",
    "peer_body",
    "register_body",
    "sim_clock",
    "simulator",
    "simulator_factory",
    "simulator_session",
    "wait_until",
]

SIM_PBX_COUNT = 3
# The PBX the `api` fixture talks to.
API_PBX = "pbx-001"
SimulatorFactory = Callable[..., SimulatorThread]


@pytest.fixture(scope="session")
def sim_clock() -> ManualClock:
    """The clock of the session's simulator: advance it to expire tokens."""
    return ManualClock()


@pytest.fixture(scope="session")
def simulator_session(sim_clock: ManualClock) -> Iterator[SimulatorThread]:
    """One simulator thread (3 PBXs, no latency, 1 request in flight each) for the session."""
    with SimulatorThread(SimSettings(pbx_count=SIM_PBX_COUNT, clock=sim_clock)) as sim:
        yield sim


@pytest.fixture
def simulator(simulator_session: SimulatorThread) -> Iterator[SimulatorThread]:
    """The session's simulator, reset to its start state before and after the test."""
    simulator_session.reset()
    yield simulator_session
    simulator_session.reset()


@pytest.fixture
def simulator_factory() -> Iterator[SimulatorFactory]:
    """Start simulator threads with custom SimSettings keywords; all stop after the test."""
    started: list[SimulatorThread] = []

    def start(**settings: Any) -> SimulatorThread:
        sim = SimulatorThread(SimSettings(**settings)).start()
        started.append(sim)
        return sim

    yield start
    for sim in started:
        sim.stop()


@pytest.fixture
async def async_simulator(sim_clock: ManualClock) -> AsyncIterator[AsyncSimulator]:
    """A simulator on the test's own event loop (3 PBXs, session clock)."""
    async with AsyncSimulator(SimSettings(pbx_count=SIM_PBX_COUNT, clock=sim_clock)) as sim:
        yield sim


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """An aiohttp client session, closed after the test."""
    async with aiohttp.ClientSession() as session:
        yield session


async def api_call(
    session: aiohttp.ClientSession,
    base_url: str,
    method: str,
    endpoint: str,
    *,
    token: str | None = None,
    body: Any = None,
    params: Mapping[str, str | int] | None = None,
    **request_options: Any,
) -> dict[str, Any]:
    """Call {base_url}/openapi/v1.0/{endpoint} and return its JSON answer (HTTP 200 expected)."""
    query = {**(params or {}), **({"access_token": token} if token is not None else {})}
    url = f"{base_url}/openapi/v1.0/{endpoint}"
    if body is not None:
        request_options["json"] = body
    async with session.request(method, url, params=query, **request_options) as response:
        assert response.status == 200, await response.text()
        answer: dict[str, Any] = await response.json(content_type=None)
        return answer


async def wait_until(condition: Callable[[], bool], timeout_s: float = 5.0) -> None:
    """Poll a condition until it holds; fail the test at the deadline."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {timeout_s}s")
        await asyncio.sleep(0.005)


async def get_token(
    session: aiohttp.ClientSession, sim: SimulatorThread | AsyncSimulator, alias: str
) -> str:
    """A fresh access token for a PBX, using its inventory credentials."""
    row = next(row for row in sim.inventory_rows() if row["pbx"] == alias)
    answer = await api_call(
        session,
        row["base_url"],
        "POST",
        "get_token",
        body={"username": row["client_id"], "password": row["client_secret"]},
    )
    assert answer["errcode"] == 0, answer
    token: str = answer["access_token"]
    return token


class PbxApi:
    """One PBX of a simulator with a token in hand: GET and POST its endpoints."""

    def __init__(self, http: aiohttp.ClientSession, base_url: str, token: str) -> None:
        self.http = http
        self.base_url = base_url
        self.token = token

    async def get(self, endpoint: str, **params: str | int) -> dict[str, Any]:
        """GET an endpoint with these query parameters."""
        return await api_call(
            self.http, self.base_url, "GET", endpoint, token=self.token, params=params
        )

    async def post(self, endpoint: str, body: Any = None, **options: Any) -> dict[str, Any]:
        """POST a JSON body (or `data=` raw bytes) to an endpoint."""
        return await api_call(
            self.http, self.base_url, "POST", endpoint, token=self.token, body=body, **options
        )


@pytest.fixture
async def api(simulator: SimulatorThread, http: aiohttp.ClientSession) -> PbxApi:
    """The session simulator's first PBX (pbx-001), logged in."""
    token = await get_token(http, simulator, API_PBX)
    return PbxApi(http, simulator.base_url(API_PBX), token)


def register_body(name: str, **overrides: Any) -> dict[str, Any]:
    """A valid register trunk body (the seed's example, made valid)."""
    body: dict[str, Any] = {
        "name": name,
        "country": "general",
        "type": "register",
        "transport": "udp",
        "hostname": "sip.example.com",
        "port": 5060,
        "domain": "sip.example.com",
        "username": "6701",
        "password": "aAc1653249",
        "auth_name": "mubJwYEWs9",
        "codec_sel": "ulaw,alaw,g729",
        "def_outbound_cid": "5503300",
        "outbound_cid_list": [
            {
                "outbound_cid_option": "shared",
                "outbound_cid": "5503301",
                "ext_list": [{"id": 7, "type": "ext_group", "ext_number": "Sales"}],
            }
        ],
        "did_list": [{"did": "5503308", "did_name": "Main"}],
    }
    body.update(overrides)
    return body


def peer_body(name: str, **overrides: Any) -> dict[str, Any]:
    """A valid peer trunk body."""
    body: dict[str, Any] = {
        "name": name,
        "country": "general",
        "type": "peer",
        "transport": "tcp",
        "hostname": "10.0.0.9",
        "port": 5060,
        "domain": "10.0.0.9",
        "codec_sel": "ulaw",
    }
    body.update(overrides)
    return body
