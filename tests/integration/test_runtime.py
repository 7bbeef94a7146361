"""The worker's per-process runtime against a real Redis."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import redis

from core.settings import Settings
from tests.worker_process import WorkerProcess
from worker.runtime import SCRIPTS, WorkerRuntime


def _sha(script: str) -> str:
    return hashlib.sha1(script.encode()).hexdigest()  # noqa: S324 - Redis names scripts by SHA-1


def test_start_up_loads_every_script_into_redis(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    client.script_flush()  # as a new Redis
    runtime = WorkerRuntime(Settings(redis_url=redis_url))
    try:
        assert client.script_exists(*map(_sha, SCRIPTS)) == [True] * len(SCRIPTS)
    finally:
        runtime.close()
        client.close()


def test_a_ready_file_left_by_a_killed_worker_is_replaced(redis_url: str, tmp_path: Path) -> None:
    # A health check must not see "ready" before this worker consumes.
    log = tmp_path / "worker.log"
    stale = log.with_suffix(".ready")
    stale.write_text("left by a killed worker", encoding="utf-8")
    worker = WorkerProcess({"TRUNKCTL_REDIS_URL": redis_url, "TRUNKCTL_QUEUE": "ready"}, "w", log)
    try:
        deadline = time.monotonic() + 60
        # The stale file is removed at start-up; the new one is created empty once consuming.
        while not (stale.exists() and stale.read_text(encoding="utf-8") == ""):
            assert worker.process.poll() is None, worker.output()
            assert time.monotonic() < deadline, "no new ready file"
            time.sleep(0.05)
    finally:
        worker.stop()


def test_the_runtime_is_sized_by_the_concurrency_celery_was_given(
    redis_url: str, tmp_path: Path
) -> None:
    # `-c 8` on the command line, not TRUNKCTL_WORKER_CONCURRENCY (32 in the fast settings),
    # is what the limiter's room and the Redis pool must be sized by.
    worker = WorkerProcess(
        {"TRUNKCTL_REDIS_URL": redis_url, "TRUNKCTL_QUEUE": "sized"}, "w", tmp_path / "w.log",
        celery_args=("--concurrency", "8"),
    )  # fmt: skip
    try:
        worker.wait_ready()
        assert "trunkctl worker: 8 task slots" in worker.output()
    finally:
        worker.stop()
    # A warm shutdown closes the PBX session and the Redis pool once the pool has stopped.
    assert "PBX connections and Redis pool closed" in worker.log_path.read_text(encoding="utf-8")


def test_a_worker_told_to_consume_another_queue_says_it_will_deliver_nothing(
    redis_url: str, tmp_path: Path
) -> None:
    worker = WorkerProcess(
        {"TRUNKCTL_REDIS_URL": redis_url, "TRUNKCTL_QUEUE": "rollouts"}, "w", tmp_path / "w.log",
        celery_args=("-Q", "other"),
    )  # fmt: skip
    try:
        worker.wait_ready()  # the warning is logged before the ready file is touched
        assert "this worker consumes other, but trunkctl submits to TRUNKCTL_QUEUE=rollouts" in (
            worker.output()
        )
    finally:
        worker.stop()
    assert "consumes" not in _output_of_a_worker_on_its_queue(redis_url, tmp_path)


def _output_of_a_worker_on_its_queue(redis_url: str, tmp_path: Path) -> str:
    worker = WorkerProcess(
        {"TRUNKCTL_REDIS_URL": redis_url, "TRUNKCTL_QUEUE": "rollouts"}, "v", tmp_path / "v.log"
    )
    try:
        worker.wait_ready()
        return worker.output()
    finally:
        worker.stop()
