"""End-to-end helpers: trunk CSVs for simulated PBXs, real workers, submit, wait."""

from __future__ import annotations

import csv
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest
import redis

from celery_ext.messages import StockSender
from jobs.queue import TaskQueue
from jobs.store import JobStore
from pbxsim import SimulatorThread
from pbxsim.inventory import write_inventory
from pbxsim.testing import SimulatorAccess
from producer.submit import SubmitResult, Submitter
from tests.worker_process import WorkerProcess
from trunks.cells import TRUNK_COLUMNS, body_cells

JOB_TTL_S = 3600
STOCK = "TRUNKCTL_STOCK_CELERY"
T = TypeVar("T")
# alias -> trunk name -> the simulator's count of the creates it received for that name.
CreateCounts = dict[str, dict[str, dict[str, Any]]]


def register_body(name: str, number: int = 0) -> dict[str, Any]:
    """A valid register trunk body."""
    return {
        "name": name, "country": "general", "type": "register", "transport": "udp",
        "hostname": "sip.example.net", "port": 5060, "domain": "sip.example.net",
        "username": f"user{number}", "password": f"Secret{number:04d}Pw", "auth_name": f"a{number}",
        "codec_sel": "ulaw,alaw", "did_list": [{"did": f"55{number:05d}", "did_name": "Main"}],
    }  # fmt: skip


def write_trunks_csv(path: Path, rows: Sequence[tuple[str, dict[str, Any]]]) -> Path:
    """A trunks CSV of (pbx alias, body) rows."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=TRUNK_COLUMNS)
        writer.writeheader()
        for alias, body in rows:
            writer.writerow({**body_cells(body), "pbx": alias})
    return path


def fleet_rows(aliases: Sequence[str], per_pbx: int) -> list[tuple[str, dict[str, Any]]]:
    """`per_pbx` register trunks for each alias, PBX by PBX (the order an MSP's CSV has)."""
    return [
        (alias, register_body(f"trunk-{index}", number))
        for number, (alias, index) in enumerate(
            (alias, index) for alias in aliases for index in range(per_pbx)
        )
    ]


@dataclass
class Rollout:
    """A test's view of trunkctl: its Redis, its queue, its workers."""

    redis_url: str
    tmp_path: Path
    queue: str = field(default_factory=lambda: f"test-{uuid.uuid4().hex[:8]}")
    workers: list[WorkerProcess] = field(default_factory=list)
    # TRUNKCTL_* settings of this test's workers, besides the fast ones (worker_process.py).
    settings: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.client = redis.Redis.from_url(self.redis_url)
        self.store = JobStore(self.client, JOB_TTL_S)
        # On the stock path (TRUNKCTL_STOCK_CELERY), submits go through Celery's send_task too.
        stock = StockSender(self.redis_url) if self.settings.get(STOCK) == "1" else None
        self.submitter = Submitter(self.store, TaskQueue(self.client, self.queue, stock))

    def env(self) -> dict[str, str]:
        """The environment a worker (or the CLI) of this rollout runs with."""
        return {"TRUNKCTL_REDIS_URL": self.redis_url, "TRUNKCTL_QUEUE": self.queue, **self.settings}

    def start_workers(self, count: int = 1, *celery_args: str) -> list[WorkerProcess]:
        """Start `count` worker processes at once and wait until all are ready."""
        started = [
            WorkerProcess(
                self.env(), f"w{number}", self.tmp_path / f"worker{number}.log",
                celery_args=celery_args,
            )
            for number in range(len(self.workers), len(self.workers) + count)
        ]  # fmt: skip
        self.workers.extend(started)
        for worker in started:
            worker.wait_ready()
        return started

    def submit(
        self,
        sim: SimulatorThread,
        rows: Sequence[tuple[str, dict[str, Any]]],
        inventory: list[dict[str, Any]] | None = None,
        **options: Any,
    ) -> SubmitResult:
        """Write the CSVs (inventory: the simulator's, unless given) and submit them."""
        trunks = write_trunks_csv(self.tmp_path / f"trunks-{uuid.uuid4().hex[:6]}.csv", rows)
        pbxs = self.tmp_path / "pbxs.csv"
        write_inventory(inventory or sim.inventory_rows(), pbxs)
        result = self.submitter.submit([trunks], pbxs, **options)
        assert result.job_id is not None, [str(p) for p in result.report.problems]
        return result

    def wait_final(self, job_id: str, timeout_s: float = 60.0) -> dict[str, Any]:
        """Poll the job's status until it is final; fail the test at the deadline."""
        return wait_for(
            lambda: self._final_status(job_id),
            timeout_s,
            f"job {job_id} final; now {self.store.status(job_id)}",
        )

    def wait_final_or_none(self, job_id: str) -> dict[str, Any] | None:
        """The job's status if it is final right now."""
        return self._final_status(job_id)

    def _final_status(self, job_id: str) -> dict[str, Any] | None:
        status = self.store.status(job_id)
        return status if status and status["final"] else None

    def records(self, job_id: str) -> list[dict[str, Any]]:
        """The job's report records."""
        return list(self.store.items(job_id))

    def worker_output(self) -> str:
        """Everything every worker printed."""
        return "".join(worker.output() for worker in self.workers)

    def stop(self) -> None:
        """Stop every worker."""
        for worker in self.workers:
            worker.stop()
        self.client.close()


def create_counts(sim: SimulatorAccess) -> CreateCounts:
    """Every PBX's creates_by_name now: the baseline of a job that follows another."""
    return {alias: sim.creates_by_name(alias) for alias in sim.aliases()}


def assert_delivered_once(
    sim: SimulatorAccess, records: Iterable[Mapping[str, Any]], before: CreateCounts | None = None
) -> None:
    """From the simulator's own counts (since `before`): a trunk a job reports `succeeded` got
    exactly one accepted create, a trunk it reports `exists` none, any other at most one; and
    once a create of the job was accepted, no create at all was sent for that name again (so
    no 40003 either: the PBX refusing a second create must not be what saves the day)."""
    after = create_counts(sim)
    for record in records:
        alias, name, state = record["pbx"], record["name"], record["state"]
        if alias not in after:
            continue  # a PBX no simulator of the test serves
        seen = _since((before or {}).get(alias, {}).get(name), after[alias].get(name))
        where = f"{alias}/{name}, {state}: the PBX saw {seen}"
        wanted = {"succeeded": (1,), "exists": (0,)}.get(state, (0, 1))
        assert seen["accepted"] in wanted, where
        if seen["accepted"]:
            assert seen["sent_after_accepted"] == 0, where
            assert seen["refused"].get("40003", 0) == 0, where


def _since(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> dict[str, Any]:
    """One name's count of creates after minus before."""
    empty: Mapping[str, Any] = {"accepted": 0, "refused": {}, "sent_after_accepted": 0}
    old, new = before or empty, after or empty
    refused = {
        code: count - old["refused"].get(code, 0)
        for code, count in new["refused"].items()
        if count - old["refused"].get(code, 0)
    }
    return {
        "accepted": new["accepted"] - old["accepted"],
        "refused": refused,
        "sent_after_accepted": new["sent_after_accepted"] - old["sent_after_accepted"],
    }


def wait_for(probe: Callable[[], T | None], timeout_s: float, what: str) -> T:
    """Poll `probe` until it returns something, or fail at the deadline."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = probe()
        if value is not None:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(0.05)


@pytest.fixture
def rollout(redis_url: str, tmp_path: Path) -> Iterator[Rollout]:
    """A Rollout on the test's clean Redis database; its workers stop after the test."""
    subject = Rollout(redis_url, tmp_path)
    yield subject
    subject.stop()
