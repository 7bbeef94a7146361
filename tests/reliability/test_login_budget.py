"""The login budget across jobs, retries and workers (issue 16): a wrong client secret never gets
the MSP's IP blocked. Real Redis, real Celery workers, the simulator over HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pbxsim import SimSettings, SimulatorThread
from pbxsim.inventory import write_inventory
from tests.e2e import Rollout, fleet_rows

pytestmark = pytest.mark.e2e
TRUNKCTL = str(Path(sys.executable).parent / "trunkctl")
WRONG_SECRET = "Wrong-Secret-0042"
REFUSED = "login refused by the PBX for client id"
BUDGET_SPENT = "not logging in to this PBX: 2 logins to it failed"


@pytest.fixture
def sim() -> Any:
    with SimulatorThread(SimSettings(pbx_count=2)) as simulator:
        yield simulator


def _wrong_inventory(sim: SimulatorThread, bad: str, secret: str = WRONG_SECRET) -> list[Any]:
    return [
        dict(row, client_secret=secret) if row["pbx"] == bad else row
        for row in sim.inventory_rows()
    ]


def _cli(rollout: Rollout, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [TRUNKCTL, *args], env={**os.environ, **rollout.env()}, capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip


def _bad_records(rollout: Rollout, job_id: str, bad: str) -> list[dict[str, Any]]:
    return [record for record in rollout.records(job_id) if record["pbx"] == bad]


def _assert_no_secret(text: str, secrets: list[str]) -> None:
    leaked = [secret for secret in secrets if secret in text]
    assert not leaked, f"{len(leaked)} secrets leaked"


def test_six_jobs_and_five_retries_with_a_wrong_secret_spend_one_failed_login(
    rollout: Rollout, sim: SimulatorThread, tmp_path: Path
) -> None:
    bad, good = sim.aliases()
    inventory = _wrong_inventory(sim, bad)
    rows = fleet_rows([bad, good], per_pbx=3)
    rollout.start_workers(2)
    job_ids = []
    for _ in range(6):
        job_id = rollout.submit(sim, rows, inventory).job_id or ""
        rollout.wait_final(job_id)
        job_ids.append(job_id)
    first = job_ids[0]
    for _ in range(5):
        assert rollout.submitter.retry(first, None).requeued == 3
        rollout.wait_final(first)
    counters = sim.counters(bad)
    assert counters["logins_failed"] == 1  # never more than 2 in 30 minutes; here, one
    assert counters["blocked_ips"] == []
    assert counters["requests"] == {"get_token": 1}
    for job_id in job_ids:
        records = _bad_records(rollout, job_id, bad)
        assert {record["state"] for record in records} == {"failed"}
        for record in records:
            assert record["errcode"] == -1
            assert record["errmsg"].startswith(REFUSED)
            assert record["errmsg"].endswith(
                f"by job {first}: check client_id/client_secret; not tried again until the "
                "inventory changes the secret or `retry --relogin`"
            )
        served = {r["state"] for r in rollout.records(job_id) if r["pbx"] == good}
        assert served <= {"succeeded", "exists"}  # a later job finds the first one's trunks
    # Logged once, at WARNING; no secret in any log line, report or status.
    output = rollout.worker_output()
    assert output.count(REFUSED) == 1
    reports = [_cli(rollout, "report", job_id, "--format", "json").stdout for job_id in job_ids]
    reports += [_cli(rollout, "report", first).stdout, _cli(rollout, "status", first).stdout]
    secrets = [WRONG_SECRET] + [row["client_secret"] for row in sim.inventory_rows()]
    secrets += [body["password"] for _, body in rows]
    _assert_no_secret(output + "".join(reports), secrets)
    assert json.loads(reports[0])["items"][0]["errmsg"].startswith(REFUSED)
    # A corrected inventory is another secret: it is tried, and the PBX gets its trunks.
    fixed = tmp_path / "fixed.csv"
    write_inventory(sim.inventory_rows(), fixed)
    assert rollout.submitter.retry(first, fixed).requeued == 3
    assert rollout.wait_final(first)["outcome"] == "success"
    assert len(sim.trunks(bad)) == 3
    assert sim.counters(bad)["logins_failed"] == 1


def test_retry_relogin_sends_the_refused_secret_once_more_within_the_budget(
    rollout: Rollout, sim: SimulatorThread
) -> None:
    bad, _good = sim.aliases()
    rollout.start_workers(1)
    rows = fleet_rows([bad], per_pbx=2)
    job_id = rollout.submit(sim, rows, _wrong_inventory(sim, bad)).job_id or ""
    rollout.wait_final(job_id)
    assert sim.counters(bad)["logins_failed"] == 1
    relogin = _cli(rollout, "retry", job_id, "--relogin", "--json")
    assert relogin.returncode == 0, relogin.stderr
    assert json.loads(relogin.stdout) == {"job_id": job_id, "requeued": 2}
    rollout.wait_final(job_id)
    assert sim.counters(bad)["logins_failed"] == 2  # sent once more, on purpose
    assert all(r["errmsg"].startswith(REFUSED) for r in _bad_records(rollout, job_id, bad))
    # Whatever the user does now, no third failed login within 30 minutes.
    for args in (["--relogin"], [], ["--relogin"]):
        assert _cli(rollout, "retry", job_id, *args).returncode == 0
        rollout.wait_final(job_id)
        for record in _bad_records(rollout, job_id, bad):
            assert record["state"] == "failed"
            assert record["errmsg"].startswith(BUDGET_SPENT), record["errmsg"]
    counters = sim.counters(bad)
    assert (counters["logins_failed"], counters["blocked_ips"]) == (2, [])
    assert counters["requests"] == {"get_token": 2}


def test_many_jobs_at_once_on_two_workers_spend_two_failed_logins_at_most(
    rollout: Rollout, sim: SimulatorThread
) -> None:
    # Three different typos among eight jobs submitted together: the first two typos may each be
    # tried once; everything else fails without a request.
    bad, good = sim.aliases()
    rollout.start_workers(2)
    rows = fleet_rows([bad, good], per_pbx=4)
    typos = [f"Typo-{n % 3}-Secret" for n in range(8)]
    job_ids = [
        rollout.submit(sim, rows, _wrong_inventory(sim, bad, typo)).job_id or "" for typo in typos
    ]
    reasons: set[str] = set()
    for job_id in job_ids:
        served = rollout.wait_final(job_id)["pbxs"][good]
        assert sum(served.get(state, 0) for state in ("succeeded", "exists")) == 4
        for record in _bad_records(rollout, job_id, bad):
            assert record["state"] == "failed"
            assert record["errmsg"].startswith((REFUSED, BUDGET_SPENT)), record["errmsg"]
            assert record["attempts"] == 0
            reasons.add(record["errmsg"][: len(REFUSED)])
    assert reasons == {REFUSED, BUDGET_SPENT[: len(REFUSED)]}  # the third typo was not sent
    counters = sim.counters(bad)
    assert counters["logins_failed"] == 2
    assert counters["blocked_ips"] == []
    assert counters["requests"] == {"get_token": counters["logins_failed"]}
    _assert_no_secret(rollout.worker_output(), typos)
