"""`cancel`, `status --wait` through a Redis outage, and what a missing job is said to be."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from core import keys
from jobs.job_writer import new_job_id
from jobs.store import JobStore
from pbxsim import SimSettings, SimulatorThread
from tests.e2e import Rollout, assert_delivered_once, fleet_rows, wait_for
from tests.redis_server import RedisServer


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "trunkctl", *args], env={**os.environ, **env}, text=True,
        capture_output=True, timeout=120, check=False,
    )  # fmt: skip


@pytest.fixture
def slow_pbx() -> Iterator[SimulatorThread]:
    with SimulatorThread(SimSettings(pbx_count=1, latency_ms=100)) as simulator:
        yield simulator


def test_cancel_ends_the_unsent_items_cancelled_and_retry_queues_them_again(
    rollout: Rollout, slow_pbx: SimulatorThread
) -> None:
    result = rollout.submit(slow_pbx, fleet_rows(slow_pbx.aliases(), per_pbx=40))
    assert result.job_id is not None
    rollout.start_workers(1)
    wait_for(lambda: len(slow_pbx.trunks("pbx-001")) >= 3 or None, 60, "the first trunks")

    cancelled = _cli(rollout.env(), "cancel", result.job_id)
    assert cancelled.returncode == 0, cancelled.stderr
    assert "cancelled" in cancelled.stdout

    status = rollout.wait_final(result.job_id)
    counts = status["counts"]
    assert counts["cancelled"] > 0
    assert counts["succeeded"] + counts["cancelled"] == 40
    assert status["outcome"] == "partial"
    on_pbx = {trunk["name"] for trunk in slow_pbx.trunks("pbx-001")}
    for record in rollout.records(result.job_id):
        if record["state"] == "cancelled":
            assert record["name"] not in on_pbx  # no create of it left
            assert record["attempts"] == 0
            assert record["errmsg"] == "cancelled by 'trunkctl cancel'"
    assert _cli(rollout.env(), "status", result.job_id).returncode == 1  # not all delivered

    retried = _cli(rollout.env(), "retry", result.job_id, "--json")
    assert retried.returncode == 0, retried.stderr
    assert f'"requeued": {counts["cancelled"]}' in retried.stdout
    final = rollout.wait_final(result.job_id)
    assert final["counts"]["succeeded"] == 40
    assert_delivered_once(slow_pbx, rollout.records(result.job_id))


def test_cancel_of_an_unknown_job_is_a_usage_error(rollout: Rollout) -> None:
    done = _cli(rollout.env(), "cancel", "20991231-000000-abcd")
    assert done.returncode == 2
    assert done.stderr.startswith("error: no job '20991231-000000-abcd'")


def test_status_wait_rides_out_a_redis_restart(tmp_path: Path) -> None:
    server = RedisServer(persistent=True)
    try:
        with SimulatorThread(SimSettings(pbx_count=2)) as sim:
            rollout = Rollout(server.url(), tmp_path)
            try:
                result = rollout.submit(sim, fleet_rows(sim.aliases(), per_pbx=2))
                assert result.job_id is not None
                env = {**os.environ, **rollout.env()}
                waiting = subprocess.Popen(
                    [sys.executable, "-m", "trunkctl", "status", result.job_id, "--wait"],
                    env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                )  # fmt: skip
                channel = keys.job_final_channel(result.job_id)
                wait_for(
                    lambda: rollout.client.pubsub_numsub(channel)[0][1] or None, 30,
                    "status --wait to listen for the job",
                )  # fmt: skip
                server.restart(down_s=2)
                rollout.client = redis.Redis.from_url(server.url())
                rollout.start_workers(1)
                out, err = waiting.communicate(timeout=120)
                assert result.job_id is not None
                assert_delivered_once(sim, rollout.records(result.job_id))
            finally:
                rollout.stop()
    finally:
        server.stop()
    assert waiting.returncode == 0, err
    assert "lost Redis" in err
    assert "Redis is back" in err
    assert "succeeded  4" in out


def test_a_missing_job_says_why(redis_url: str) -> None:
    store = JobStore(redis.Redis.from_url(redis_url), ttl_s=30 * 86400)
    an_hour_ago = new_job_id(time.time() - 3600)
    # A store that holds nothing at all for a recent job: its data was lost.
    assert "Redis lost it" in store.why_missing(an_hour_ago)
    store.client.hset(keys.STORE, "created_at", repr(time.time() - 7200))
    assert "unknown" in store.why_missing(an_hour_ago)
    store.client.hset(keys.STORE, "created_at", repr(time.time() - 60))
    assert "Redis lost it" in store.why_missing(an_hour_ago)  # created after the job
    assert "expired" in store.why_missing(new_job_id(time.time() - 40 * 86400))
    assert "job ids look like" in store.why_missing("not-a-job")


def test_status_wait_polls_where_an_acl_forbids_channels(
    no_channels_url: str, rollout: Rollout, slow_pbx: SimulatorThread
) -> None:
    result = rollout.submit(slow_pbx, fleet_rows(slow_pbx.aliases(), per_pbx=1))
    assert result.job_id is not None  # no worker: it stays queued
    env = {**rollout.env(), "TRUNKCTL_REDIS_URL": no_channels_url}
    done = _cli(env, "status", result.job_id, "--wait", "--timeout", "1")
    assert done.returncode == 3, done.stderr
    assert "timed out after 1 s" in done.stderr
    assert "Traceback" not in done.stderr
