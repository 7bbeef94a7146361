"""`trunkctl simulate` as a real process: one ready line, an inventory, a clean stop."""

from __future__ import annotations

import asyncio
import csv
import re
import signal
import sys
from pathlib import Path

import aiohttp
import pytest
from click.testing import CliRunner

from tests.sim_fixtures import api_call
from trunkctl.simulate_command import simulate

READY = re.compile(
    r"pbxsim: serving 3 PBXs at (http://127\.0\.0\.1:(\d+))/pbx-001 \.\. /pbx-003 "
    r"\(inspect: http://127\.0\.0\.1:\d+/_sim/state\)"
)
START_TIMEOUT_S = 20.0


async def _start(*options: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "trunkctl", "simulate", "--pbxs", "3", "--port", "0", *options,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip


async def _ready_line(process: asyncio.subprocess.Process) -> str:
    assert process.stdout is not None
    line = await asyncio.wait_for(process.stdout.readline(), START_TIMEOUT_S)
    return line.decode().rstrip("\n")


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["TERM", "INT"])
async def test_serves_after_one_line_and_stops_on_signal(
    tmp_path: Path, stop_signal: signal.Signals
) -> None:
    inventory = tmp_path / "inventory.csv"
    process = await _start(
        "--write-inventory", str(inventory), "--faults", "flaky", "--seed", "5", "--access-log"
    )  # fmt: skip
    try:
        match = READY.fullmatch(await _ready_line(process))
        assert match is not None
        with inventory.open(newline="") as handle:
            rows = list(csv.DictReader(handle))
        assert [row["pbx"] for row in rows] == ["pbx-001", "pbx-002", "pbx-003"]
        assert rows[2]["base_url"] == f"{match.group(1)}/pbx-003"
        login = {"username": rows[0]["client_id"], "password": rows[0]["client_secret"]}
        async with aiohttp.ClientSession() as http:
            answer = await api_call(http, rows[0]["base_url"], "POST", "get_token", body=login)
            assert answer["errcode"] == 0
            token = answer["access_token"]
            listed = await api_call(http, rows[0]["base_url"], "GET", "trunk/list", token=token)
            assert listed["errcode"] == 0
            async with http.get(f"{match.group(1)}/_sim/faults") as response:
                assert len((await response.json())["rules"]) == 3
    finally:
        process.send_signal(stop_signal)
        stdout, stderr = await asyncio.wait_for(process.communicate(), START_TIMEOUT_S)
    assert process.returncode == 0
    # Exactly one line on stdout; the access log names paths but no secret or token.
    assert stdout == b""
    printed = stderr.decode()
    assert "GET /pbx-001/openapi/v1.0/trunk/list 200" in printed
    assert rows[0]["client_secret"] not in printed
    assert token not in printed


def test_bad_options_are_usage_errors() -> None:
    runner = CliRunner()
    result = runner.invoke(simulate, ["--latency-range-ms", "9-1"])
    assert result.exit_code == 2
    assert "LO-HI" in result.output
    assert runner.invoke(simulate, ["--faults", "nope"]).exit_code == 2


async def test_the_inventory_can_name_the_simulator_as_workers_reach_it(tmp_path: Path) -> None:
    inventory = tmp_path / "inventory.csv"
    process = await _start(
        "--host", "0.0.0.0", "--write-inventory", str(inventory),  # noqa: S104 - all interfaces
        "--inventory-url", "http://simulator:8090/",
    )  # fmt: skip
    try:
        assert "pbxsim: serving 3 PBXs" in await _ready_line(process)
        with inventory.open(newline="") as handle:
            rows = list(csv.DictReader(handle))
    finally:
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.communicate(), START_TIMEOUT_S)
    assert [row["base_url"] for row in rows] == [
        f"http://simulator:8090/pbx-00{n}" for n in (1, 2, 3)
    ]


async def test_a_taken_port_or_an_unwritable_inventory_is_one_line_and_exit_2(
    tmp_path: Path,
) -> None:
    first = await _start()
    try:
        port = READY.fullmatch(await _ready_line(first))
        assert port is not None
        taken = await _start("--port", port.group(2))  # a later --port wins
        _out, err = await asyncio.wait_for(taken.communicate(), START_TIMEOUT_S)
        assert taken.returncode == 2
        assert f"127.0.0.1:{port.group(2)}: " in err.decode()
        assert "Traceback" not in err.decode()
    finally:
        first.send_signal(signal.SIGTERM)
        await first.wait()
    unwritable = await _start("--write-inventory", str(tmp_path / "no-such-dir" / "pbxs.csv"))
    _out, err = await asyncio.wait_for(unwritable.communicate(), START_TIMEOUT_S)
    assert unwritable.returncode == 2
    assert "no-such-dir/pbxs.csv: No such file or directory" in err.decode()
    assert "Traceback" not in err.decode()
