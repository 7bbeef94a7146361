"""End-to-end trunks per second with instant PBXs, beside the worker's own ceiling.

    python bench/throughput.py [--pbxs 100] [--trunks 20]

One worker process, already running. The ceiling is the rate at which that same worker drains
no-op tasks (Celery and kombu with late acks, nothing else), measured in the same run.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import redis  # noqa: E402

from bench.delivery import Rig, aliases  # noqa: E402
from core.settings import Settings  # noqa: E402
from jobs.queue import NOOP_TASK, TaskQueue  # noqa: E402
from tests.e2e import fleet_rows  # noqa: E402


def noop_rate(url: str, queue: str, count: int) -> float:
    """No-op tasks per second drained by the running worker."""
    client = redis.Redis.from_url(url)
    started = time.perf_counter()
    TaskQueue(client, queue).publish((("noop", n, 0) for n in range(count)), NOOP_TASK)
    while TaskQueue(client, queue).length() or client.hlen("unacked"):
        time.sleep(0.01)
    return count / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pbxs", type=int, default=100)
    parser.add_argument("--trunks", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=Settings().worker_concurrency)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="trunkctl-bench-") as workdir:
        rig = Rig(args.pbxs, 0, Path(workdir), args.concurrency)
        try:
            rows = fleet_rows(aliases(args.pbxs), args.trunks)
            _, makespan_s = rig.run(rows)
            ceiling = noop_rate(rig.redis.url(), "trunkctl", len(rows))
            print(
                f"{len(rows)} trunks, instant PBXs, one worker ({args.concurrency} tasks at once):"
            )
            print(f"  end to end {len(rows) / makespan_s:.0f} trunks/s (submit to status --wait)")
            print(f"  ceiling    {ceiling:.0f} no-op tasks/s drained by the same worker")
        finally:
            rig.close()


if __name__ == "__main__":
    main()
