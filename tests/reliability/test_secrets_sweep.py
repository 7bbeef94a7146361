"""No secret anywhere: trunk passwords, client secrets and every access and refresh token the
PBXs actually issued, swept from worker logs at DEBUG (every level) and from every output."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from pbxsim import SimSettings, SimulatorThread
from tests.e2e import Rollout, assert_delivered_once, fleet_rows

pytestmark = pytest.mark.e2e
WRONG_SECRET = "Wr0ng-Client-Secret-7f3a"


@pytest.fixture
def sim() -> Iterator[SimulatorThread]:
    # Tokens of 4 s: refreshed and replaced again and again while the rollout runs.
    with SimulatorThread(SimSettings(pbx_count=3, latency_ms=30, access_ttl_s=4)) as simulator:
        yield simulator


def _outputs(rollout: Rollout, job_id: str) -> str:
    """What people and scripts see of the job: every command that reads it, as text and JSON."""
    commands = [
        ["status", job_id], ["status", job_id, "--json"], ["report", job_id],
        ["report", job_id, "--format", "json"], ["jobs"], ["jobs", "--json"],
    ]  # fmt: skip
    env = {**os.environ, **rollout.env()}
    seen = []
    for args in commands:
        done = subprocess.run(
            [sys.executable, "-m", "trunkctl", *args], env=env, capture_output=True, text=True,
            timeout=60, check=False,
        )  # fmt: skip
        seen += [done.stdout, done.stderr]
    return "\n".join(seen)


def test_no_secret_or_issued_token_reaches_a_log_or_an_output(
    rollout: Rollout, sim: SimulatorThread
) -> None:
    wrong, *good = sim.aliases()
    sim.set_faults([{"endpoint": "trunk/create", "kind": "token_expired", "every": 3}])
    rows = fleet_rows(sim.aliases(), per_pbx=6)
    inventory = [
        {**row, "client_secret": WRONG_SECRET} if row["pbx"] == wrong else row
        for row in sim.inventory_rows()
    ]
    rollout.start_workers(2, "--loglevel", "DEBUG")
    result = rollout.submit(sim, rows, inventory)
    assert result.job_id is not None
    status = rollout.wait_final(result.job_id, timeout_s=120)
    assert status["counts"]["succeeded"] == 12
    assert status["counts"]["failed"] == 6
    assert_delivered_once(sim, rollout.records(result.job_id))

    secrets = [WRONG_SECRET, *(row["client_secret"] for row in sim.inventory_rows())]
    secrets += [body["password"] for _, body in rows]
    tokens = [token for alias in good for token in sim.issued_tokens(alias)]
    assert len(tokens) >= 8  # 10004 on every 3rd create: each PBX refreshed its pair
    logs = rollout.worker_output()
    assert "DEBUG" in logs  # the most verbose level, which every other level's lines are in
    everything = logs + _outputs(rollout, result.job_id)
    leaked = [secret for secret in secrets + tokens if secret in everything]
    assert leaked == [], f"{len(leaked)} of {len(secrets + tokens)} secrets leaked"
