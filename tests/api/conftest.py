"""Fixtures of the API tests: a real `trunkctl serve` on the rollout's Redis and queue, a client,
and simulated PBXs."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import aiohttp
import pytest

from pbxsim import SimSettings, SimulatorThread
from tests.api.client import ApiClient
from tests.api.server_process import ServeProcess
from tests.e2e import Rollout

TOKEN = f"api-token-{secrets.token_hex(16)}"
ServeFactory = Callable[..., ServeProcess]


@pytest.fixture
def sim() -> Iterator[SimulatorThread]:
    """Three simulated PBXs, fresh for the test."""
    with SimulatorThread(SimSettings(pbx_count=3)) as simulator:
        yield simulator


@pytest.fixture
def serve(rollout: Rollout, tmp_path: Path) -> Iterator[ServeFactory]:
    """Start `trunkctl serve` processes on the rollout's Redis and queue (token: TOKEN, unless
    `env` says otherwise); all stop after the test."""
    started: list[ServeProcess] = []

    def start(*args: str, env: dict[str, str] | None = None) -> ServeProcess:
        environment = {**rollout.env(), "TRUNKCTL_API_TOKEN": TOKEN, **(env or {})}
        log = tmp_path / f"serve-{len(started)}.log"
        process = ServeProcess(environment, log, *args)
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()


@pytest.fixture
def server(serve: ServeFactory) -> ServeProcess:
    """One running server (the limit on uploads: 1 MiB)."""
    process = serve(env={"TRUNKCTL_API_MAX_UPLOAD_MB": "1"})
    process.wait_ready()
    return process


@pytest.fixture
async def client(server: ServeProcess) -> AsyncIterator[ApiClient]:
    """A client of `server` with the right token."""
    async with aiohttp.ClientSession() as session:
        yield ApiClient(session, server.url, TOKEN)
