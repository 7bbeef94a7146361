"""`trunkctl worker` exactly as an operator starts it, with the product's default settings."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from pbxsim import SimSettings, SimulatorThread
from tests.e2e import Rollout, assert_delivered_once, fleet_rows
from tests.worker_process import WorkerProcess

pytestmark = pytest.mark.e2e


def test_trunkctl_worker_with_its_defaults_delivers_and_stops_warm(
    rollout: Rollout, tmp_path: Path
) -> None:
    with SimulatorThread(SimSettings(pbx_count=3, latency_ms=20)) as sim:
        worker = WorkerProcess(
            {"TRUNKCTL_REDIS_URL": rollout.redis_url, "TRUNKCTL_QUEUE": rollout.queue},
            "prod", tmp_path / "worker.log", fast=False,
            command=(sys.executable, "-m", "trunkctl", "worker"),
        )  # fmt: skip
        try:
            worker.wait_ready()
            result = rollout.submit(sim, fleet_rows(sim.aliases(), per_pbx=3))
            assert result.job_id is not None
            status = rollout.wait_final(result.job_id)
            assert status["outcome"] == "success"
            assert_delivered_once(sim, rollout.records(result.job_id))
        finally:
            worker.stop()
    assert worker.process.returncode == 0
    output = worker.log_path.read_text(encoding="utf-8")
    assert "trunkctl worker: 256 task slots" in output  # TRUNKCTL_WORKER_CONCURRENCY's default
    assert "celery_ext.transport" in output or "redis://" in output
    assert "Traceback" not in output
