"""The daily loop through the CLI: submit, status --wait, report, retry, jobs, re-submit."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from core import keys
from pbxsim import SimSettings, SimulatorThread
from pbxsim.inventory import write_inventory
from tests.e2e import Rollout, fleet_rows, wait_for, write_trunks_csv

pytestmark = pytest.mark.e2e
TRUNKCTL = str(Path(sys.executable).parent / "trunkctl")


def run(rollout: Rollout, *args: str) -> subprocess.CompletedProcess[str]:
    """The CLI as a user runs it, against the rollout's Redis and queue."""
    return subprocess.run(
        [TRUNKCTL, *args], env={**os.environ, **rollout.env()}, capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip


def report_json(rollout: Rollout, job_id: str, *extra: str) -> list[dict[str, Any]]:
    done = run(rollout, "report", job_id, "--format", "json", *extra)
    assert done.returncode == 0, done.stderr
    items: list[dict[str, Any]] = json.loads(done.stdout)["items"]
    return items


@pytest.fixture
def sim() -> Any:
    with SimulatorThread(SimSettings(pbx_count=3)) as simulator:
        yield simulator


def test_submit_fail_report_retry_succeed_resubmit(
    rollout: Rollout, sim: SimulatorThread, tmp_path: Path
) -> None:
    locked, *others = sim.aliases()
    rows = fleet_rows(sim.aliases(), per_pbx=3)
    invalid = dict(rows[1][1], password="short", name="broken-trunk")  # line 3 of the CSV
    rows.insert(1, (others[0], invalid))
    trunks = write_trunks_csv(tmp_path / "trunks.csv", rows)
    good_inventory = sim.inventory_rows()
    wrong = [
        dict(row, client_secret="typo") if row["pbx"] == locked else row for row in good_inventory
    ]
    write_inventory(wrong, tmp_path / "pbxs.csv")
    secrets = [row["client_secret"] for row in good_inventory] + [b["password"] for _, b in rows]
    rollout.start_workers(1)

    refused = run(rollout, "submit", str(trunks), "--pbxs", str(tmp_path / "pbxs.csv"))
    assert refused.returncode == 1
    assert "trunks.csv:3: password:" in refused.stderr
    assert refused.stderr.endswith(
        "nothing queued: fix the rows above, or pass --skip-invalid to queue the valid ones\n"
    )
    assert refused.stdout == ""
    assert run(rollout, "jobs", "--json").stdout.count("job_id") == 0

    submitted = run(
        rollout, "submit", str(trunks), "--pbxs", str(tmp_path / "pbxs.csv"), "--skip-invalid",
        "--label", "rollout-1", "--json",
    )  # fmt: skip
    assert submitted.returncode == 0, submitted.stderr
    queued = json.loads(submitted.stdout)
    assert queued["queued"] == 9
    assert queued["rejected"] == 1
    job_id = queued["job_id"]

    waited = run(rollout, "status", job_id, "--wait", "--timeout", "60", "--json")
    assert waited.returncode == 1
    status = json.loads(waited.stdout)
    assert status["final"] is True
    assert status["outcome"] == "partial"
    assert status["counts"]["failed"] == 3
    assert status["counts"]["rejected"] == 1
    assert status["pbxs"][locked] == {"failed": 3}

    bad = report_json(rollout, job_id, "--state", "failed", "--state", "rejected")
    assert {(r["line"], r["state"]) for r in bad} >= {(3, "rejected")}
    assert all(r["errmsg"] for r in bad)
    assert {r["errcode"] for r in bad if r["state"] == "failed"} == {-1}
    assert sim.counters(locked)["logins_failed"] == 1

    (tmp_path / "broken.csv").write_text("pbx,base_url\n")  # no client columns
    broken = run(rollout, "retry", job_id, "--pbxs", str(tmp_path / "broken.csv"), "--json")
    assert broken.returncode == 1
    refusal = json.loads(broken.stdout)
    assert (refusal["job_id"], refusal["requeued"]) == (job_id, 0)
    assert {error["file"] for error in refusal["errors"]} == {str(tmp_path / "broken.csv")}

    write_inventory(good_inventory, tmp_path / "fixed.csv")
    retried = run(rollout, "retry", job_id, "--pbxs", str(tmp_path / "fixed.csv"), "--json")
    assert retried.returncode == 0, retried.stderr
    assert json.loads(retried.stdout) == {"job_id": job_id, "requeued": 3}
    final = run(rollout, "status", job_id, "--wait", "--timeout", "60")
    assert final.returncode == 1  # the rejected row stays rejected
    records = report_json(rollout, job_id)
    assert [r["line"] for r in records] == list(range(2, 12))
    delivered = [r for r in records if r["state"] != "rejected"]
    assert {r["state"] for r in delivered} == {"succeeded"}
    assert all(r["attempts"] == 1 and r["trunk_id"] for r in delivered)
    for alias in sim.aliases():
        assert len(sim.trunks(alias)) == 3

    clean = [row for row in rows if row[1] is not invalid]
    again = write_trunks_csv(tmp_path / "again.csv", clean)
    resubmitted = run(rollout, "submit", str(again), "--label", "rerun")
    assert resubmitted.returncode == 0, resubmitted.stderr
    rerun_id = resubmitted.stdout.strip()
    assert run(rollout, "status", rerun_id, "--wait", "--timeout", "60").returncode == 0
    assert {r["state"] for r in report_json(rollout, rerun_id)} == {"exists"}
    assert sum(sim.counters(a)["creates"] for a in sim.aliases()) == 9

    listed = json.loads(run(rollout, "jobs", "--json").stdout)["jobs"]
    assert [job["label"] for job in listed] == ["rerun", "rollout-1"]
    csv_report = run(rollout, "report", job_id).stdout
    csv_records = list(csv.DictReader(io.StringIO(csv_report)))
    assert csv_records[0]["file"] == str(trunks)
    rejected = next(r for r in csv_records if r["state"] == "rejected")
    assert json.loads(rejected["detail"])[0]["column"] == "password"
    outputs = [
        csv_report, waited.stdout, final.stdout, run(rollout, "status", job_id).stdout,
        json.dumps(records), run(rollout, "jobs").stdout, rollout.worker_output(),
    ]  # fmt: skip
    for text in outputs:
        assert not [secret for secret in secrets if secret in text]


def test_status_wait_times_out_with_exit_3_while_nothing_delivers(
    rollout: Rollout, sim: SimulatorThread
) -> None:
    result = rollout.submit(sim, fleet_rows(sim.aliases(), per_pbx=1))  # and no worker running
    job_id = result.job_id or ""
    waited = run(rollout, "status", job_id, "--wait", "--timeout", "0.5", "--json")
    assert waited.returncode == 3, waited.stderr
    assert waited.stderr == "timed out after 0.5 s: 0 of 3 items final\n"
    status = json.loads(waited.stdout)
    assert not status["final"]
    assert status["counts"]["queued"] == 3
    # Without --wait: a look, and the same answer. `status JOB && next-step` must not go on.
    looked = run(rollout, "status", job_id)
    assert looked.returncode == 3, looked.stderr
    assert "queued" in looked.stdout
    misused = run(rollout, "status", job_id, "--timeout", "5")
    assert misused.returncode == 2
    assert "--timeout applies to --wait" in misused.stderr


def _start_big_submit(
    rollout: Rollout, tmp_path: Path
) -> tuple[subprocess.Popen[str], list[tuple[str, dict[str, Any]]]]:
    """A `trunkctl submit` of 12,000 rows (read twice, so storing takes a while), once its job
    exists; and its rows."""
    aliases = [f"pbx-{n}" for n in range(1, 41)]
    write_inventory(
        [
            {"pbx": a, "base_url": f"https://{a}.example.net", "client_id": "c",
             "client_secret": "s"}
            for a in aliases
        ],
        tmp_path / "pbxs.csv",
    )  # fmt: skip
    rows = fleet_rows(aliases, per_pbx=300)
    trunks = write_trunks_csv(tmp_path / "trunks.csv", rows)
    submit = subprocess.Popen(
        [TRUNKCTL, "submit", str(trunks), "--pbxs", str(tmp_path / "pbxs.csv")],
        env={**os.environ, **rollout.env()}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    # The job is listed once storing has begun.
    wait_for(lambda: rollout.client.zcard(keys.JOBS_INDEX) or None, 60, "the job to be created")
    return submit, rows


def test_ctrl_c_while_a_job_is_stored_lets_it_finish_queuing(
    rollout: Rollout, tmp_path: Path
) -> None:
    submit, rows = _start_big_submit(rollout, tmp_path)
    submit.send_signal(signal.SIGINT)  # from now on, Ctrl-C must not cut the job short
    _out, err = submit.communicate(timeout=120)
    assert submit.returncode == 130  # interrupted, as shells say of Ctrl-C
    [job_id] = [raw.decode() for raw in rollout.client.zrange(keys.JOBS_INDEX, 0, -1)]
    assert f"interrupted, after job {job_id} was stored and its {len(rows)} tasks queued" in err
    assert rollout.submitter.queue.length() == len(rows)
    status = rollout.store.status(job_id)
    assert status is not None
    assert status["total"] == status["counts"]["queued"] == len(rows)
    assert status["submit"] == "done"


def test_a_submit_killed_while_storing_is_seen_cut_short_and_retry_mends_the_job(
    rollout: Rollout, tmp_path: Path
) -> None:
    submit, rows = _start_big_submit(rollout, tmp_path)
    [job_id] = [raw.decode() for raw in rollout.client.zrange(keys.JOBS_INDEX, 0, -1)]
    wait_for(lambda: rollout.client.hget(keys.job(job_id), "numbered"), 60, "items to be stored")
    submit.kill()  # SIGKILL: nothing of the submit's own runs any more
    submit.communicate(timeout=60)
    assert json.loads(run(rollout, "status", job_id, "--json").stdout)["submit"] == "in progress"
    assert "its submit is still storing" in run(rollout, "status", job_id).stdout
    rollout.client.delete(keys.job_submitter(job_id))  # as when its lease runs out

    waited = run(rollout, "status", job_id, "--wait", "--timeout", "60")
    assert waited.returncode == 1  # at once: waiting would never end
    assert "outcome  cut short" in waited.stdout
    assert f"the submit of {job_id} was cut short" in waited.stderr
    assert f"'trunkctl retry {job_id}'" in waited.stderr
    listed = json.loads(run(rollout, "jobs", "--json").stdout)["jobs"]
    assert [(job["job_id"], job["submit"]) for job in listed] == [(job_id, "cut short")]

    retried = run(rollout, "retry", job_id, "--json")
    assert retried.returncode == 0, retried.stderr
    requeued = json.loads(retried.stdout)["requeued"]
    status = json.loads(run(rollout, "status", job_id, "--json").stdout)
    assert status["submit"] == "done"
    assert 0 < status["total"] < len(rows)
    assert (
        status["total"]
        == status["counts"]["queued"]
        == requeued
        == sum(sum(counts.values()) for counts in status["pbxs"].values())
    )
    records = report_json(rollout, job_id)
    assert len(records) == status["total"]
    assert rollout.submitter.queue.length() >= requeued  # every item has a task (some two)
