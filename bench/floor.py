"""The rig's floor for `delivery.py uniform`: the same requests, sent by nothing but a client.

One aiohttp client in one process logs in to each simulated PBX and sends its trunk/create
requests one after the other (max_inflight 1), every PBX at once, a new connection per request:
no CLI, no queue, no Redis, no worker. What this takes beyond the lower bound is the simulator's
and the machine's share of a rollout's makespan; `delivery.py uniform` run just before or after
shows what trunkctl adds to it.

    python bench/floor.py [--pbxs 100 --trunks 30 --latency-ms 200]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.delivery import start_simulator  # noqa: E402
from pbxsim.app import API_PATH  # noqa: E402
from tests.e2e import register_body  # noqa: E402

HEADERS = {"User-Agent": "trunkctl-bench/floor"}


async def _one_pbx(
    session: aiohttp.ClientSession, row: dict[str, str], serial: int, trunks: int
) -> list[float]:
    """get_token, then the PBX's creates one after the other; each request's seconds."""
    api = f"{row['base_url'].rstrip('/')}/{API_PATH}"
    times = []
    started = time.perf_counter()
    login = {"username": row["client_id"], "password": row["client_secret"]}
    async with session.post(f"{api}/get_token", json=login, headers=HEADERS) as response:
        token = (await response.json())["access_token"]
    times.append(time.perf_counter() - started)
    for index in range(trunks):
        started = time.perf_counter()
        body = register_body(f"floor-{serial}-{index}", serial * 1000 + index)
        async with session.post(
            f"{api}/trunk/create", params={"access_token": token}, json=body, headers=HEADERS
        ) as response:
            answer = await response.json()
        if answer.get("errcode") != 0:
            raise RuntimeError(f"trunk/create answered {answer}")
        times.append(time.perf_counter() - started)
    return times


async def _drive(rows: list[dict[str, str]], trunks: int) -> tuple[float, list[float]]:
    connector = aiohttp.TCPConnector(limit=0, force_close=True)
    async with aiohttp.ClientSession(connector=connector) as session:
        started = time.perf_counter()
        per_pbx = await asyncio.gather(
            *(_one_pbx(session, row, serial, trunks) for serial, row in enumerate(rows))
        )
        return time.perf_counter() - started, sorted(t for times in per_pbx for t in times)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pbxs", type=int, default=100)
    parser.add_argument("--trunks", type=int, default=30)
    parser.add_argument("--latency-ms", type=float, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="trunkctl-floor-") as workdir:
        inventory = Path(workdir) / "pbxs.csv"
        simulator = start_simulator(args.pbxs, args.latency_ms, inventory)
        try:
            with inventory.open(encoding="utf-8") as handle:
                rows = list(csv.DictReader(handle))
            cpu_before = time.process_time()
            makespan_s, times = asyncio.run(_drive(rows, args.trunks))
            cpu_s = time.process_time() - cpu_before
        finally:
            simulator.terminate()
            simulator.wait(timeout=10)
    bound_s = (args.trunks + 1) * args.latency_ms / 1000
    median_ms = times[len(times) // 2] * 1000
    print(f"floor: {args.pbxs} PBXs x {args.trunks} trunks, {args.latency_ms:.0f} ms, one client")
    ratio = makespan_s / bound_s
    print(f"  makespan {makespan_s:.2f} s  lower bound {bound_s:.2f} s  ratio {ratio:.3f}")
    print(f"  request median {median_ms:.1f} ms, mean {sum(times) / len(times) * 1000:.1f} ms")
    print(f"  client CPU {cpu_s:.2f} s, {cpu_s / len(times) * 1000:.2f} ms per request")


if __name__ == "__main__":
    main()
