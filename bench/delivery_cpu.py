"""CPU per trunk of the delivery logic alone (no Celery), against instant simulated PBXs.

Runs every item of a job through `Delivery.run` on one event loop, as a worker's loop thread
would, and prints CPU milliseconds per trunk; with --profile, where that CPU goes. Compare with
`bench/throughput.py`, which measures Celery's own cost per task.

    python bench/delivery_cpu.py --pbxs 100 --trunks 30 [--profile]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import dataclasses
import json
import pstats
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import redis  # noqa: E402

from bench.delivery import aliases, start_simulator  # noqa: E402
from core.settings import Settings  # noqa: E402
from jobs.queue import TaskQueue  # noqa: E402
from jobs.store import JobStore  # noqa: E402
from producer.submit import Submitter  # noqa: E402
from tests.e2e import fleet_rows, write_trunks_csv  # noqa: E402
from tests.redis_server import RedisServer  # noqa: E402
from worker.runtime import WorkerRuntime  # noqa: E402


async def deliver_all(
    runtime: WorkerRuntime,
    job_id: str,
    order: list[int],
    concurrency: int,
    profiler: cProfile.Profile | None,
) -> None:
    """Every item of the job through the delivery logic, `concurrency` at a time."""
    gate = asyncio.Semaphore(concurrency)
    if profiler:
        profiler.enable()  # on the loop's own thread: that is where the work happens

    async def one(item_no: int) -> None:
        async with gate:
            outcome = await runtime.delivery.run(job_id, item_no)
            while outcome.run_again_in_s is not None:
                await asyncio.sleep(outcome.run_again_in_s)
                outcome = await runtime.delivery.run(job_id, item_no)

    await asyncio.gather(*(one(n) for n in order))
    if profiler:
        profiler.disable()


def sim_requests(inventory: Path) -> dict[str, int]:
    """Requests the simulator answered, by endpoint, over all PBXs."""
    base_url = inventory.read_text().splitlines()[1].split(",")[1]
    root = base_url.rsplit("/", 1)[0]
    with urllib.request.urlopen(f"{root}/_sim/state?trunks=0") as answer:  # noqa: S310
        state = json.load(answer)
    totals: dict[str, int] = {}
    for pbx in state["pbxs"].values():
        for endpoint, count in pbx["counters"]["requests"].items():
            totals[endpoint] = totals.get(endpoint, 0) + count
        totals["violations"] = totals.get("violations", 0) + pbx["counters"]["violations"]
    return totals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pbxs", type=int, default=100)
    parser.add_argument("--trunks", type=int, default=30)
    parser.add_argument("--concurrency", type=int, default=128)
    parser.add_argument("--latency-ms", type=float, default=0)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    server = RedisServer()
    with tempfile.TemporaryDirectory() as workdir:
        inventory = Path(workdir) / "pbxs.csv"
        sim = start_simulator(args.pbxs, args.latency_ms, inventory)
        try:
            rows = fleet_rows(aliases(args.pbxs), args.trunks)
            trunks = write_trunks_csv(Path(workdir) / "trunks.csv", rows)
            store = JobStore(redis.Redis.from_url(server.url()), 3600)
            submitted = Submitter(store, TaskQueue(store.client, "unused")).submit(
                [trunks], inventory
            )
            # Settings from the environment (TRUNKCTL_STOCK_CELERY, say), on the bench's Redis.
            settings = Settings.from_env()
            runtime = WorkerRuntime(
                dataclasses.replace(settings, redis_url=server.url(), worker_concurrency=256)
            )
            store.client.config_resetstat()
            profiler = cProfile.Profile() if args.profile else None
            cpu_start, wall_start = time.process_time(), time.perf_counter()
            job_id = submitted.job_id or ""
            # Round-robin over PBXs, as `submit` queues them (the rows are PBX by PBX).
            order = [
                pbx * args.trunks + index + 1
                for index in range(args.trunks)
                for pbx in range(args.pbxs)
            ]
            runtime.await_on_loop(deliver_all(runtime, job_id, order, args.concurrency, profiler))
            cpu_s, wall_s = time.process_time() - cpu_start, time.perf_counter() - wall_start
            print(f"{len(rows)} trunks: {store.status(submitted.job_id or '')['counts']}")  # type: ignore[index]
            print(
                f"  CPU {cpu_s * 1000 / len(rows):.2f} ms/trunk, {len(rows) / wall_s:.0f} trunks/s"
                f" in {wall_s:.2f} s"
            )
            runtime.close()
            print(f"  PBX requests: {sim_requests(inventory)}")
            calls = {
                name.removeprefix("cmdstat_"): stats["calls"]
                for name, stats in store.client.info("commandstats").items()
                if name not in ("cmdstat_info", "cmdstat_config|resetstat")
            }
            per_trunk = sum(calls.values()) / len(rows)
            print(f"  Redis commands per trunk: {per_trunk:.1f} {calls}")
            if profiler:
                pstats.Stats(profiler).sort_stats("tottime").print_stats(30)
        finally:
            sim.terminate()
            sim.wait(timeout=10)
            server.stop()


if __name__ == "__main__":
    main()
