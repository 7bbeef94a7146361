"""`trunkctl run` end to end: local workers, a summary, Ctrl-C and --resume, a wrong secret."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from core import keys
from core.embedded_redis import EmbeddedRedis
from pbxsim import SimSettings, SimulatorThread
from pbxsim.inventory import write_inventory
from tests.e2e import Rollout, assert_delivered_once, fleet_rows, wait_for, write_trunks_csv
from tests.worker_process import FAST_SETTINGS, local_workers_of


@pytest.fixture
def sim() -> Iterator[SimulatorThread]:
    with SimulatorThread(SimSettings(pbx_count=3, latency_ms=20)) as simulator:
        yield simulator


def _env(rollout: Rollout, data_dir: Path) -> dict[str, str]:
    return {
        **os.environ, **FAST_SETTINGS, **rollout.env(), "TRUNKCTL_DATA_DIR": str(data_dir),
        "COLUMNS": "80",
    }  # fmt: skip


def _run(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "trunkctl", "run", *args], env=env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip


def _files(
    rollout: Rollout, sim: SimulatorThread, per_pbx: int, wrong_secret: str | None = None
) -> tuple[Path, Path]:
    trunks = write_trunks_csv(rollout.tmp_path / "trunks.csv", fleet_rows(sim.aliases(), per_pbx))
    rows = sim.inventory_rows()
    if wrong_secret:
        rows = [
            {**row, "client_secret": "wrong-secret"} if row["pbx"] == wrong_secret else row
            for row in rows
        ]
    pbxs = rollout.tmp_path / "pbxs.csv"
    write_inventory(rows, pbxs)
    return trunks, pbxs


def test_a_run_delivers_summarises_writes_the_report_and_stops_its_workers(
    rollout: Rollout, sim: SimulatorThread, tmp_path: Path
) -> None:
    trunks, pbxs = _files(rollout, sim, per_pbx=4)
    report = tmp_path / "report.csv"
    rollout.client.set(keys.SERVE_URL, "http://127.0.0.1:8080/")  # a `trunkctl serve` runs
    run = _run(
        [str(trunks), "--pbxs", str(pbxs), "--workers", "2", "--report", str(report)],
        _env(rollout, tmp_path / "data"),
    )
    out, err = run.communicate(timeout=120)
    assert run.returncode == 0, err
    assert "outcome  success" in out
    assert "succeeded  12" in out
    assert f"report   {report}" in out
    assert "12 trunks queued" in err
    (job,) = rollout.store.list_jobs()
    assert f"status page: http://127.0.0.1:8080/#job/{job['job_id']}" in err
    with report.open(encoding="utf-8") as handle:
        records = list(csv.DictReader(handle))
    assert [record["state"] for record in records] == ["succeeded"] * 12
    assert local_workers_of(run.pid) == []
    assert_delivered_once(sim, rollout.records(job["job_id"]))


def test_a_wrong_secret_exits_1_with_the_pbx_and_reason_in_the_summary(
    rollout: Rollout, sim: SimulatorThread, tmp_path: Path
) -> None:
    wrong = sim.aliases()[1]
    trunks, pbxs = _files(rollout, sim, per_pbx=2, wrong_secret=wrong)
    run = _run([str(trunks), "--pbxs", str(pbxs), "--workers", "1"], _env(rollout, tmp_path))
    out, err = run.communicate(timeout=120)
    assert run.returncode == 1, err
    assert "outcome  partial" in out
    assert "failures by PBX and reason:" in out
    (line,) = [line for line in out.splitlines() if line.strip().startswith(wrong)]
    assert "failed 2" in line
    assert "errcode -1" in line
    assert "wrong-secret" not in out + err
    assert sim.counters(wrong)["logins_failed"] == 1


def test_a_refused_batch_queues_nothing_and_stops_the_workers(
    rollout: Rollout, sim: SimulatorThread, tmp_path: Path
) -> None:
    trunks, pbxs = _files(rollout, sim, per_pbx=1)
    with trunks.open("a", encoding="utf-8") as handle:
        handle.write("pbx-001,bad name,,register\n")
    run = _run([str(trunks), "--pbxs", str(pbxs)], _env(rollout, tmp_path))
    _out, err = run.communicate(timeout=120)
    assert run.returncode == 1
    assert "nothing queued" in err
    assert rollout.store.list_jobs() == []
    assert local_workers_of(run.pid) == []


def test_ctrl_c_stops_the_workers_and_resume_finishes_the_job(
    rollout: Rollout, tmp_path: Path
) -> None:
    with SimulatorThread(SimSettings(pbx_count=1, latency_ms=150)) as slow:
        trunks, pbxs = _files(rollout, slow, per_pbx=40)  # 6 s at least: one PBX, in turn
        env = _env(rollout, tmp_path)
        run = _run([str(trunks), "--pbxs", str(pbxs), "--workers", "1"], env)
        wait_for(lambda: len(slow.trunks("pbx-001")) >= 3 or None, 60, "the first trunks")
        run.send_signal(signal.SIGINT)
        _out, err = run.communicate(timeout=120)
        assert run.returncode == 130, err
        (job,) = rollout.store.list_jobs()
        assert f"trunkctl run --resume {job['job_id']}" in err
        assert local_workers_of(run.pid) == []
        assert not job["final"]
        assert len(slow.trunks("pbx-001")) < 40

        resumed = _run(["--resume", job["job_id"]], env)
        out, err = resumed.communicate(timeout=180)
        assert resumed.returncode == 0, err
        assert "succeeded  40" in out
        assert_delivered_once(slow, rollout.records(job["job_id"]))


def test_resume_needs_a_job_and_no_files(rollout: Rollout, tmp_path: Path) -> None:
    env = _env(rollout, tmp_path)
    both = _run(["trunks.csv", "--resume", "20261201-101010-abcd"], env)
    assert both.communicate(timeout=60)[1].startswith("error: --resume continues a job")
    assert both.returncode == 2
    unknown = _run(["--resume", "nonsense"], env)
    assert "no job 'nonsense'" in unknown.communicate(timeout=60)[1]
    assert unknown.returncode == 2


def test_a_run_on_the_embedded_default(sim: SimulatorThread, tmp_path: Path) -> None:
    trunks = write_trunks_csv(tmp_path / "trunks.csv", fleet_rows(sim.aliases(), 2))
    pbxs = tmp_path / "pbxs.csv"
    sim.write_inventory(pbxs)
    env = {k: v for k, v in os.environ.items() if k != "TRUNKCTL_REDIS_URL"}
    env["TRUNKCTL_DATA_DIR"] = str(tmp_path / "data")
    env.update(FAST_SETTINGS)
    try:
        run = _run([str(trunks), "--pbxs", str(pbxs), "--workers", "1"], env)
        out, err = run.communicate(timeout=120)
    finally:
        EmbeddedRedis(tmp_path / "data").stop()
    assert run.returncode == 0, err
    assert err.startswith("trunkctl: started the embedded Redis at 127.0.0.1:")
    assert "succeeded  6" in out
