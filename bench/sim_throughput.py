"""How many API requests per second one pbxsim process answers, across 1,000 PBXs.

Starts `trunkctl simulate --pbxs 1000 --port 0` (zero latency) in a subprocess, then drives it from
this process with aiohttp for a bounded time: each worker owns a disjoint slice of PBXs (so the
one-request-in-flight limit holds) and cycles get_token, a few trunk/create, del_token on each.

    .venv/bin/python bench/sim_throughput.py [--duration-s 10] [--workers 64] [--keep-alive]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import signal
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp

API_PATH = "openapi/v1.0"
START_TIMEOUT_S = 60.0


def _parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pbxs", type=int, default=1000)
    parser.add_argument("--duration-s", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=64)
    parser.add_argument("--creates-per-token", type=int, default=4)
    parser.add_argument("--keep-alive", action="store_true", help="the simulator keeps connections")
    return parser.parse_args()


async def _start_simulator(args: argparse.Namespace, inventory: Path) -> asyncio.subprocess.Process:
    options = ["--pbxs", str(args.pbxs), "--port", "0", "--latency-ms", "0", "--seed", "1"]
    options += ["--write-inventory", str(inventory)] + (["--keep-alive"] if args.keep_alive else [])
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "trunkctl", "simulate", *options, stdout=asyncio.subprocess.PIPE
    )
    assert process.stdout is not None
    line = await asyncio.wait_for(process.stdout.readline(), START_TIMEOUT_S)
    print(line.decode().strip())
    return process


class Driver:
    """Workers that call the simulator until the deadline, counting answers by errcode."""

    def __init__(self, session: aiohttp.ClientSession, args: argparse.Namespace) -> None:
        self.session = session
        self.args = args
        self.answers: Counter[str] = Counter()
        self.deadline = time.monotonic() + args.duration_s

    async def call(self, method: str, url: str, **options: Any) -> dict[str, Any]:
        async with self.session.request(method, url, **options) as response:
            answer: dict[str, Any] = await response.json(content_type=None)
        self.answers[str(answer.get("errcode"))] += 1
        return answer

    async def visit(self, row: dict[str, str], serial: int) -> None:
        """One PBX: a token, a few creates, and the token given back."""
        api = f"{row['base_url']}/{API_PATH}"
        login = {"username": row["client_id"], "password": row["client_secret"]}
        token = (await self.call("POST", f"{api}/get_token", json=login)).get("access_token")
        if token is None:
            return
        query = {"access_token": token}
        for index in range(self.args.creates_per_token):
            body = _peer_body(f"bench-{serial}-{index}")
            await self.call("POST", f"{api}/trunk/create", params=query, json=body)
        await self.call("GET", f"{api}/del_token", params=query)

    async def worker(self, rows: list[dict[str, str]]) -> None:
        serial = 0
        while time.monotonic() < self.deadline:
            for row in rows:
                serial += 1
                await self.visit(row, serial)
                if time.monotonic() >= self.deadline:
                    return


def _peer_body(name: str) -> dict[str, Any]:
    return {
        "name": name, "country": "general", "type": "peer", "transport": "udp",
        "hostname": "10.0.0.1", "port": 5060, "domain": "10.0.0.1", "codec_sel": "ulaw,alaw",
    }  # fmt: skip


async def _violations(session: aiohttp.ClientSession, root_url: str) -> int:
    async with session.get(f"{root_url}/_sim/state", params={"trunks": "0"}) as response:
        state = await response.json()
    return sum(pbx["counters"]["violations"] for pbx in state["pbxs"].values())


async def main() -> None:
    args = _parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        inventory = Path(scratch) / "inventory.csv"
        process = await _start_simulator(args, inventory)
        try:
            with inventory.open(newline="") as handle:
                rows = list(csv.DictReader(handle))
            await _drive(args, rows)
        finally:
            process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(process.wait(), START_TIMEOUT_S)


async def _drive(args: argparse.Namespace, rows: list[dict[str, str]]) -> None:
    connector = aiohttp.TCPConnector(limit=args.workers)
    async with aiohttp.ClientSession(connector=connector) as session:
        driver = Driver(session, args)
        started = time.monotonic()
        slices = [rows[index :: args.workers] for index in range(args.workers)]
        await asyncio.gather(*(driver.worker(part) for part in slices if part))
        elapsed_s = time.monotonic() - started
        root_url = rows[0]["base_url"].rsplit("/", 1)[0]
        violations = await _violations(session, root_url)
    total = sum(driver.answers.values())
    print(
        f"{total} requests in {elapsed_s:.1f}s across {len(rows)} PBXs with {args.workers} "
        f"workers: {total / elapsed_s:.0f} requests/s answered"
    )
    print(f"answers by errcode: {dict(driver.answers)}; 70082 violations: {violations}")


if __name__ == "__main__":
    asyncio.run(main())
