"""How fast tasks are queued: pipelined publishing vs a plain apply_async loop, and a full submit.

    python bench/queueing.py [--tasks 10000] [--rows 100000]

Prints tasks/s for both ways of publishing (same run, same Redis), then rows/s and peak memory of
`Submitter.submit` (validate + store items + queue) for a batch of --rows rows.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import redis  # noqa: E402
from celery import Celery  # noqa: E402

from jobs.queue import DELIVER_TASK, TaskQueue  # noqa: E402
from jobs.store import JobStore  # noqa: E402
from producer.submit import Submitter  # noqa: E402
from tests.e2e import register_body, write_trunks_csv  # noqa: E402
from tests.redis_server import RedisServer  # noqa: E402


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def publish_rates(url: str, count: int) -> None:
    """trunkctl's queue (messages built here, pipelined) vs Celery's send_task, pipelined with
    kombu's producer.batch and one round trip per task."""
    started = time.perf_counter()
    TaskQueue(redis.Redis.from_url(url), "bench-ours").publish(("job", n, 0) for n in range(count))
    ours = count / (time.perf_counter() - started)
    app = Celery("bench", broker=url, set_as_current=False)
    started = time.perf_counter()
    with app.producer_or_acquire() as producer, producer.batch(max_size=1000):
        for n in range(count):
            app.send_task(DELIVER_TASK, args=("job", n), queue="bench-batch", producer=producer)
    batched = count / (time.perf_counter() - started)
    started = time.perf_counter()
    for n in range(count):
        app.send_task(DELIVER_TASK, args=("job", n), queue="bench-loop")
    looped = count / (time.perf_counter() - started)
    print(f"publish {count} tasks: trunkctl {ours:.0f}/s, send_task batched {batched:.0f}/s, "
          f"send_task one by one {looped:.0f}/s")  # fmt: skip


def submit_rate(url: str, rows: int, workdir: Path) -> None:
    """A whole submit: validation pass, items stored, tasks queued (over KEEP_ROWS rows, the
    CSV is read twice so that memory stays flat)."""
    pbxs = workdir / "pbxs.csv"
    aliases = [f"pbx-{n:03d}" for n in range(1, 101)]
    pbxs.write_text(
        "pbx,base_url,client_id,client_secret\n"
        + "".join(f"{a},http://127.0.0.1:9/{a},id-{a},secret-{a}\n" for a in aliases)
    )
    trunks = write_trunks_csv(
        workdir / "trunks.csv",
        [(aliases[n % 100], register_body(f"t{n}", n)) for n in range(rows)],
    )
    store = JobStore(redis.Redis.from_url(url), 3600)
    before_mib = peak_rss_mib()
    started = time.perf_counter()
    result = Submitter(store, TaskQueue(store.client, "bench-submit")).submit([trunks], pbxs)
    elapsed = time.perf_counter() - started
    print(f"submit {rows} rows: {rows / elapsed:.0f} rows/s, queued {result.queued}, "
          f"peak RSS {before_mib:.0f} -> {peak_rss_mib():.0f} MiB")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    server = RedisServer()
    try:
        publish_rates(server.url(), args.tasks)
        with tempfile.TemporaryDirectory() as workdir:
            submit_rate(server.url(), args.rows, Path(workdir))
    finally:
        server.stop()


if __name__ == "__main__":
    main()
