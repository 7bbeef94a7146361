"""End to end against Redis servers of their own: restarts mid-rollout, a unix socket URL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pbxsim import SimSettings, SimulatorThread
from tests.e2e import Rollout, assert_delivered_once, create_counts, fleet_rows, wait_for
from tests.integration.test_delivery_e2e import assert_each_created_once
from tests.redis_server import RedisServer

pytestmark = pytest.mark.e2e


@pytest.mark.slow
def test_redis_restarts_mid_rollout_lose_nothing(tmp_path: Path) -> None:
    # Half of the creates fail (HTTP 503), so many tasks are queuing their next run when Redis
    # goes away: a run that cannot be queued must not take its message down with it.
    server = RedisServer(persistent=True)
    rollout = Rollout(server.url(), tmp_path)
    try:
        with SimulatorThread(SimSettings(pbx_count=3, latency_ms=30)) as sim:
            sim.set_faults([{"endpoint": "trunk/create", "kind": "http503", "every": 2}])
            rollout.settings["TRUNKCTL_MAX_ATTEMPTS"] = "50"  # the faults may hit one item often
            rollout.start_workers(1)
            rows = fleet_rows(sim.aliases(), per_pbx=40)
            job_id = rollout.submit(sim, rows).job_id or ""
            for progress in (15, 45):
                wait_for(
                    lambda p=progress: _done(rollout, job_id) >= p or None, 60, f"{progress} done"
                )
                server.restart(down_s=1.0)
            rollout.wait_final(job_id, timeout_s=90)
            others = [r for r in rollout.records(job_id) if r["state"] != "succeeded"]
            assert not others, [(r["state"], r["attempts"], r["errmsg"]) for r in others]
            assert_each_created_once(sim, rows)
            assert_delivered_once(sim, rollout.records(job_id))
            assert "Unrecoverable error" not in rollout.worker_output()
            assert all(worker.process.poll() is None for worker in rollout.workers)
    finally:
        rollout.stop()
        server.stop()


def _done(rollout: Rollout, job_id: str) -> int:
    status: dict[str, Any] = rollout.store.status(job_id) or {}
    return int(status.get("counts", {}).get("succeeded", 0))


def test_a_unix_socket_redis_url_serves_the_cli_and_the_worker(tmp_path: Path) -> None:
    # redis-py's `unix:///path?db=N`, which kombu spells differently: one URL for both sides.
    server = RedisServer(unix_socket=True)
    rollout = Rollout(server.unix_url(), tmp_path)
    try:
        with SimulatorThread(SimSettings(pbx_count=1)) as sim:
            rollout.start_workers(1)
            rows = fleet_rows(sim.aliases(), per_pbx=3)
            job_id = rollout.submit(sim, rows).job_id or ""
            assert rollout.wait_final(job_id)["counts"]["succeeded"] == len(rows)
            assert_delivered_once(sim, rollout.records(job_id))
    finally:
        rollout.stop()
        server.stop()


@pytest.mark.slow
def test_redis_killed_mid_rollout_with_everysec_sends_nothing_twice(tmp_path: Path) -> None:
    # docker-compose's and the embedded Redis's setting: a SIGKILL loses up to a second of
    # writes, the record of a create that left among them. Nothing is sent twice anyway.
    server = RedisServer(persistent=True, fsync="everysec")
    rollout = Rollout(server.url(), tmp_path)
    try:
        with SimulatorThread(SimSettings(pbx_count=3, latency_ms=50)) as sim:
            rollout.start_workers(1)
            rows = fleet_rows(sim.aliases(), per_pbx=40)
            job_id = rollout.submit(sim, rows).job_id or ""
            wait_for(lambda: _done(rollout, job_id) >= 30 or None, 60, "30 done")
            server.kill_and_restart(down_s=1.0)
            status = rollout.wait_final(job_id, timeout_s=90)
            records = rollout.records(job_id)
            assert {r["state"] for r in records} <= {"succeeded", "exists"}, status["counts"]
            assert_each_created_once(sim, rows)
            for alias, by_name in create_counts(sim).items():
                for name, seen in by_name.items():
                    assert seen["accepted"] == 1, (alias, name, seen)
                    assert seen["sent_after_accepted"] == 0, (alias, name, seen)
                    assert not seen["refused"], (alias, name, seen)
    finally:
        rollout.stop()
        server.stop()
