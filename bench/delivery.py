"""Makespan of a rollout against simulated PBXs, with one worker process already running.

Measured as product.md says: from the start of `trunkctl submit` to the return of
`trunkctl status --wait`. Scenarios:
  uniform  N PBXs x M trunks, latency L ms, max_inflight 1: makespan vs the busiest PBX's bound
  skewed   one PBX with 200 trunks and 100 PBXs with 2: when the small ones are done vs the big one
  behind   a job of 300 trunks for one PBX, then a job of 2 trunks for each of 100 other PBXs:
           how long the second job takes (its tasks are queued behind the first job's)

    python bench/delivery.py uniform --pbxs 100 --trunks 30 --latency-ms 200
    python bench/delivery.py skewed
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import redis  # noqa: E402

from core import keys  # noqa: E402
from core.settings import Settings  # noqa: E402
from jobs.store import JobStore  # noqa: E402
from tests.e2e import fleet_rows, register_body, write_trunks_csv  # noqa: E402
from tests.redis_server import RedisServer  # noqa: E402
from tests.worker_process import WorkerProcess  # noqa: E402

BIN = Path(sys.executable).parent


def start_simulator(pbxs: int, latency_ms: float, inventory: Path) -> subprocess.Popen[str]:
    """The simulator in its own process; returns once it prints its ready line."""
    process = subprocess.Popen(
        [
            sys.executable, "-m", "trunkctl", "simulate", "--pbxs", str(pbxs), "--port", "0",
            "--latency-ms", str(latency_ms), "--write-inventory", str(inventory),
        ],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert process.stdout is not None
    line = process.stdout.readline()
    if not re.search(r"serving", line):
        raise RuntimeError(f"simulator did not start: {line!r}")
    return process


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a running process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children_cpu_s() -> float:
    """User + system CPU seconds of this process's finished children (the CLI runs)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def trunkctl(env: dict[str, str], *args: str) -> str:
    """Run the CLI as a user would; its stdout."""
    done = subprocess.run(
        [str(BIN / "trunkctl"), *args], env=env, capture_output=True, text=True, check=False
    )
    if done.returncode not in (0, 1):
        raise RuntimeError(f"trunkctl {args[0]} failed: {done.stderr}")
    return done.stdout


class Rig:
    """Redis, simulator and one worker process, started once for a scenario."""

    def __init__(
        self, pbxs: int, latency_ms: float, workdir: Path, concurrency: int, workers: int = 1
    ) -> None:
        self.redis = RedisServer()
        self.workdir = workdir
        self.inventory = workdir / "pbxs.csv"
        self.sim = start_simulator(pbxs, latency_ms, self.inventory)
        self.env = {
            **os.environ,
            "TRUNKCTL_REDIS_URL": self.redis.url(),
            "TRUNKCTL_WORKER_CONCURRENCY": str(concurrency),
        }
        self.workers = [
            WorkerProcess(
                {
                    "TRUNKCTL_REDIS_URL": self.redis.url(),
                    "TRUNKCTL_WORKER_CONCURRENCY": str(concurrency),
                },
                f"bench{n}",
                workdir / f"worker{n}.log",
                fast=False,
            )
            for n in range(workers)
        ]
        for worker in self.workers:
            worker.wait_ready()
        self.store = JobStore(redis.Redis.from_url(self.redis.url()), 3600)

    def cpu_s(self) -> dict[str, float]:
        """CPU seconds used so far by each long-running process of the rig."""
        processes = {"redis": self.redis.pid, "simulator": self.sim.pid}
        processes.update({f"worker{n}": w.process.pid for n, w in enumerate(self.workers)})
        return {name: process_cpu_s(pid) for name, pid in processes.items()}

    def run(self, rows: list[tuple[str, dict[str, object]]]) -> tuple[str, float]:
        """Submit and wait; the job id and the makespan in seconds. Prints CPU per process,
        and when the run's phases ended, in seconds from the start of the submit."""
        trunks = write_trunks_csv(self.workdir / "trunks.csv", rows)
        before, cli_before = self.cpu_s(), children_cpu_s()
        started, started_epoch = time.perf_counter(), time.time()
        job_id = trunkctl(self.env, "submit", str(trunks), "--pbxs", str(self.inventory)).strip()
        submitted_s = time.perf_counter() - started
        trunkctl(self.env, "status", job_id, "--wait")
        makespan_s = time.perf_counter() - started
        used = {name: cpu - before[name] for name, cpu in self.cpu_s().items()}
        used["cli"] = children_cpu_s() - cli_before
        print("  CPU s: " + ", ".join(f"{name} {cpu:.2f}" for name, cpu in used.items()))
        tries = sorted(at - started_epoch for at in self.first_tries(job_id, len(rows)))
        print(
            f"  phases, s from the start: submit exited {submitted_s:.2f}, "
            f"first item taken up {tries[0]:.2f}, last {tries[-1]:.2f}, "
            f"wait returned {makespan_s:.2f}"
        )
        return job_id, makespan_s

    def first_tries(self, job_id: str, total: int) -> list[float]:
        """When a worker first took up each item (epoch seconds; its first try), where it did."""
        with self.store.client.pipeline(transaction=False) as pipe:
            for item_no in range(1, total + 1):
                pipe.hget(keys.item(job_id, item_no), "first_try_at")
            return [float(value) for value in pipe.execute() if value]

    def deferrals(self, job_id: str, total: int) -> int:
        """How many times tasks stepped aside because their PBX was saturated."""
        with self.store.client.pipeline(transaction=False) as pipe:
            for item_no in range(1, total + 1):
                pipe.hget(keys.item(job_id, item_no), "deferrals")
            return sum(int(value or 0) for value in pipe.execute())

    def close(self) -> None:
        """Stop everything."""
        for worker in self.workers:
            worker.stop()
        self.sim.terminate()
        self.sim.wait(timeout=10)
        self.redis.stop()


def aliases(count: int) -> list[str]:
    """The simulator's PBX aliases."""
    return [f"pbx-{n:03d}" for n in range(1, count + 1)]


def uniform(args: argparse.Namespace, workdir: Path) -> None:
    """N PBXs x M trunks: makespan against the busiest PBX's lower bound."""
    rig = Rig(args.pbxs, args.latency_ms, workdir, args.concurrency, args.workers)
    try:
        rows = fleet_rows(aliases(args.pbxs), args.trunks)
        job_id, makespan_s = rig.run(rows)
        status = rig.store.status(job_id) or {}
        bound_s = (args.trunks + 1) * args.latency_ms / 1000  # + 1: the PBX's get_token
        print(
            f"uniform: {args.pbxs} PBXs x {args.trunks} trunks, {args.latency_ms:.0f} ms, "
            f"max_inflight 1, {args.workers} worker process(es) x {args.concurrency} tasks"
        )
        print(f"  outcome {status.get('outcome')}  counts {status.get('counts')}")
        print(
            f"  makespan {makespan_s:.2f} s  lower bound {bound_s:.2f} s  "
            f"ratio {makespan_s / bound_s:.3f}"
        )
        print(f"  trunks/s {len(rows) / makespan_s:.1f}")
        print(f"  tasks that stepped aside for a busy PBX: {rig.deferrals(job_id, len(rows))}")
    finally:
        rig.close()


def skewed(args: argparse.Namespace, workdir: Path) -> None:
    """One PBX with 200 trunks, 100 with 2: the small ones finish long before the big one."""
    rig = Rig(101, args.latency_ms, workdir, args.concurrency, args.workers)
    try:
        big, *small = aliases(101)
        rows = [(big, register_body(f"big-{i}", i)) for i in range(200)]
        rows += [
            (alias, register_body(f"small-{i}", 1000 + n))
            for n, alias in enumerate(small)
            for i in range(2)
        ]
        job_id, makespan_s = rig.run(rows)
        finished = {}
        for record in rig.store.items(job_id):
            kind = "big" if record["pbx"] == big else "small"
            finished[kind] = max(finished.get(kind, ""), record["finished_at"] or "")
        created = (rig.store.job(job_id) or {}).get("created_at")
        print(f"skewed: 1 PBX x 200 + 100 PBXs x 2, {args.latency_ms:.0f} ms, max_inflight 1")
        print(
            f"  makespan {makespan_s:.2f} s (big PBX bound {(201 * args.latency_ms / 1000):.1f} s)"
        )
        print(f"  job created {created}")
        print(f"  last small trunk {finished.get('small')}; last big trunk {finished.get('big')}")
    finally:
        rig.close()


def behind(args: argparse.Namespace, workdir: Path) -> None:
    """A busy PBX's job queued first must not hold up a second job for other PBXs."""
    rig = Rig(101, args.latency_ms, workdir, args.concurrency, args.workers)
    try:
        busy, *others = aliases(101)
        first = write_trunks_csv(
            workdir / "first.csv", [(busy, register_body(f"busy-{i}", i)) for i in range(300)]
        )
        second_rows = [
            (alias, register_body(f"other-{i}", 1000 + n))
            for n, alias in enumerate(others)
            for i in range(2)
        ]
        second = write_trunks_csv(workdir / "second.csv", second_rows)
        first_id = trunkctl(rig.env, "submit", str(first), "--pbxs", str(rig.inventory)).strip()
        started = time.perf_counter()
        second_id = trunkctl(rig.env, "submit", str(second), "--pbxs", str(rig.inventory)).strip()
        trunkctl(rig.env, "status", second_id, "--wait")
        second_s = time.perf_counter() - started
        first_status = rig.store.status(first_id) or {}
        print(f"behind: 1 PBX x 300, then 100 PBXs x 2, {args.latency_ms:.0f} ms, max_inflight 1")
        print(
            f"  second job: {second_s:.2f} s from its submit to the end of its wait "
            f"(bound {3 * args.latency_ms / 1000:.1f} s); first job by then: "
            f"{first_status.get('counts', {}).get('succeeded')} of 300 succeeded"
        )
        print(f"  tasks of the first job that stepped aside: {rig.deferrals(first_id, 300)}")
        trunkctl(rig.env, "status", first_id, "--wait")
    finally:
        rig.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("scenario", choices=["uniform", "skewed", "behind"])
    parser.add_argument("--pbxs", type=int, default=100)
    parser.add_argument("--trunks", type=int, default=30)
    parser.add_argument("--latency-ms", type=float, default=200)
    parser.add_argument(
        "--concurrency", type=int, default=Settings().worker_concurrency, help="tasks per worker"
    )
    parser.add_argument("--workers", type=int, default=1, help="worker processes")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="trunkctl-bench-") as workdir:
        {"uniform": uniform, "skewed": skewed, "behind": behind}[args.scenario](args, Path(workdir))


if __name__ == "__main__":
    main()
