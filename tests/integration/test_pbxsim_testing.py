"""The in-process harnesses: the async simulator, the thread's lifecycle, inventory files."""

from __future__ import annotations

import csv
import socket
from pathlib import Path

import aiohttp
import pytest

from pbxsim import AsyncSimulator, SimSettings, SimulatorThread
from pbxsim.inventory import INVENTORY_HEADER
from tests.sim_fixtures import *  # noqa: F403
from tests.sim_fixtures import api_call, get_token, peer_body


async def test_async_simulator_serves_on_the_test_loop(
    async_simulator: AsyncSimulator, http: aiohttp.ClientSession
) -> None:
    token = await get_token(http, async_simulator, "pbx-003")
    base_url = async_simulator.base_url("pbx-003")
    body = peer_body("office")
    created = await api_call(http, base_url, "POST", "trunk/create", token=token, body=body)
    assert created["id"] == 1
    assert async_simulator.trunks("pbx-003") == [{**body, "id": 1}]
    assert async_simulator.counters("pbx-003")["creates"] == 1


def test_write_inventory(simulator: SimulatorThread, tmp_path: Path) -> None:
    path = tmp_path / "inventory.csv"
    simulator.write_inventory(path)
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        assert tuple(reader.fieldnames or ()) == INVENTORY_HEADER
        rows = list(reader)
    assert [row["pbx"] for row in rows] == simulator.aliases()
    assert rows[0]["base_url"] == simulator.base_url("pbx-001")
    assert rows[0]["max_inflight"] == "1"
    assert path.stat().st_mode & 0o077 == 0


def test_seeded_credentials_repeat() -> None:
    with (
        SimulatorThread(SimSettings(pbx_count=2, seed=11)) as first,
        SimulatorThread(SimSettings(pbx_count=2, seed=11)) as second,
    ):
        secrets = [row["client_secret"] for row in first.inventory_rows()]
        assert secrets == [row["client_secret"] for row in second.inventory_rows()]


def test_a_taken_port_fails_to_start() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        sim = SimulatorThread(port=taken.getsockname()[1])
        with pytest.raises(RuntimeError, match="did not start"):
            sim.start()
        sim.stop()


def test_stop_is_idempotent_and_state_needs_a_running_server() -> None:
    sim = SimulatorThread()
    with pytest.raises(RuntimeError, match="not running"):
        sim.inventory_rows()
    sim.start()
    assert sim.aliases() == ["pbx-001", "pbx-002", "pbx-003"]
    sim.stop()
    sim.stop()
    with pytest.raises(RuntimeError, match="not running"):
        sim.state()
