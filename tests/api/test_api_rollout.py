"""The daily loop through the HTTP API, with real workers and simulated PBXs: upload, watch,
page through the items, download the report, retry with a corrected inventory; and the CLI and
the API see the same jobs."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from jobs.records import REPORT_FIELDS
from pbxsim import SimulatorThread
from pbxsim.inventory import write_inventory
from tests.api.client import ApiClient
from tests.e2e import Rollout, fleet_rows, write_trunks_csv

pytestmark = pytest.mark.e2e
TRUNKCTL = [sys.executable, "-m", "trunkctl"]


def cli(rollout: Rollout, *args: str) -> subprocess.CompletedProcess[str]:
    """The CLI as a user runs it, against the rollout's Redis and queue."""
    return subprocess.run(
        [*TRUNKCTL, *args], env={**os.environ, **rollout.env()}, capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip


async def all_items(client: ApiClient, job_id: str, query: str = "") -> list[dict[str, Any]]:
    """Every record of the job through the paged items route (pages of 4)."""
    items: list[dict[str, Any]] = []
    page = 1
    while True:
        answer = await client.get(f"api/jobs/{job_id}/items?page={page}&page_size=4&{query}")
        assert answer.status == 200, answer.text
        body = answer.json()
        assert (body["page"], body["page_size"]) == (page, 4)
        items += body["items"]
        if page * 4 >= body["total"]:
            assert len(items) == body["total"]
            return items
        page += 1


def batch(sim: SimulatorThread, tmp_path: Path) -> tuple[Path, Path, Path, str]:
    """trunks.csv (3 trunks per PBX and, at line 3, an invalid one), an inventory with a wrong
    secret for the first PBX, the right inventory, and that PBX's alias."""
    locked, *others = sim.aliases()
    rows = fleet_rows(sim.aliases(), per_pbx=3)
    rows.insert(1, (others[0], dict(rows[1][1], password="short", name="broken-trunk")))
    trunks = write_trunks_csv(tmp_path / "trunks.csv", rows)
    good = sim.inventory_rows()
    wrong = [dict(row, client_secret="typo") if row["pbx"] == locked else row for row in good]
    write_inventory(wrong, tmp_path / "upload" / "pbxs.csv")
    write_inventory(good, tmp_path / "fixed" / "pbxs.csv")
    return trunks, tmp_path / "upload" / "pbxs.csv", tmp_path / "fixed" / "pbxs.csv", locked


async def test_upload_watch_page_report_retry(
    rollout: Rollout, sim: SimulatorThread, client: ApiClient, tmp_path: Path
) -> None:
    (tmp_path / "upload").mkdir()
    (tmp_path / "fixed").mkdir()
    trunks, wrong_pbxs, fixed_pbxs, locked = batch(sim, tmp_path)
    rollout.start_workers(1)

    refused = await client.upload([trunks], wrong_pbxs, fields={"label": "api-1"})
    assert refused.status == 422
    assert refused.json()["valid"] == 9
    assert refused.json()["invalid"] == 1
    assert [(e["file"], e["line"], e["column"]) for e in refused.json()["errors"]] == [
        ("trunks.csv", 3, "password")
    ]
    submitted = await client.upload(
        [trunks], wrong_pbxs, fields={"label": "api-1", "skip_invalid": "true"}
    )
    assert submitted.status == 201, submitted.text
    body = submitted.json()
    assert (body["queued"], body["rejected"]) == (9, 1)
    assert [e["file"] for e in body["errors"]] == ["trunks.csv"]
    job_id = body["job_id"]

    status = await client.wait_final(job_id)
    assert status["outcome"] == "partial"
    assert (status["counts"]["failed"], status["counts"]["rejected"]) == (3, 1)
    assert status["pbxs"][locked] == {"failed": 3}
    assert status["label"] == "api-1"

    items = await all_items(client, job_id)
    assert [item["line"] for item in items] == list(range(2, 12))
    assert {item["file"] for item in items} == {"trunks.csv"}  # the upload's name, no temp path
    failed = await all_items(client, job_id, "state=failed")
    assert {(item["pbx"], item["errcode"]) for item in failed} == {(locked, -1)}
    assert all(item["errmsg"] for item in failed)
    bad = await all_items(client, job_id, "state=failed&state=rejected")
    assert [item["line"] for item in bad] == sorted(item["line"] for item in [*failed, items[1]])
    other = sim.aliases()[1]
    mine = await all_items(client, job_id, f"pbx={other}")
    assert len(mine) == 4
    assert {item["pbx"] for item in mine} == {other}
    nothing = await client.get(f"api/jobs/{job_id}/items?state=failed&pbx={other}")
    assert nothing.json() == {"items": [], "total": 0, "page": 1, "page_size": 100}
    beyond = await client.get(f"api/jobs/{job_id}/items?page=9&page_size=4")
    assert (beyond.json()["items"], beyond.json()["total"]) == ([], 10)

    report = await client.get(f"api/jobs/{job_id}/report.csv")
    assert report.status == 200
    assert report.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert f"trunkctl-{job_id}.csv" in report.headers["Content-Disposition"]
    assert report.text == cli(rollout, "report", job_id).stdout  # the CLI's own file
    records = list(csv.DictReader(io.StringIO(report.text)))
    assert list(records[0]) == list(REPORT_FIELDS)
    assert len(records) == 10
    failed_csv = await client.get(f"api/jobs/{job_id}/report.csv?state=failed")
    assert [row["state"] for row in csv.DictReader(io.StringIO(failed_csv.text))] == ["failed"] * 3

    retried = await client.retry(job_id, fixed_pbxs)
    assert retried.status == 200, retried.text
    assert retried.json() == {"job_id": job_id, "requeued": 3}
    final = await client.wait_final(job_id)
    assert final["counts"]["succeeded"] == 9
    assert final["counts"]["rejected"] == 1
    for alias in sim.aliases():
        assert len(sim.trunks(alias)) == 3
    again = await client.retry(job_id)
    assert again.json() == {"job_id": job_id, "requeued": 0}

    shown = json.loads(cli(rollout, "status", job_id, "--json").stdout)
    assert shown == await client.status(job_id)
    reported = json.loads(cli(rollout, "report", job_id, "--format", "json").stdout)["items"]
    assert reported == await all_items(client, job_id)


async def test_cli_and_api_see_each_others_jobs(
    rollout: Rollout, sim: SimulatorThread, client: ApiClient, tmp_path: Path
) -> None:
    rollout.start_workers(1)
    trunks = write_trunks_csv(tmp_path / "cli.csv", fleet_rows(sim.aliases()[:1], per_pbx=2))
    sim.write_inventory(tmp_path / "pbxs.csv")
    submitted = cli(
        rollout, "submit", str(trunks), "--pbxs", str(tmp_path / "pbxs.csv"), "--label", "by-cli",
        "--json",
    )  # fmt: skip
    assert submitted.returncode == 0, submitted.stderr
    cli_job = json.loads(submitted.stdout)["job_id"]

    listed = await client.get("api/jobs")
    assert [(job["job_id"], job["label"]) for job in listed.json()["jobs"]] == [(cli_job, "by-cli")]
    assert (await client.wait_final(cli_job))["outcome"] == "success"

    # Through the API, without an inventory: the aliases stored by the CLI's submit serve.
    more = write_trunks_csv(tmp_path / "api.csv", [(sim.aliases()[0], fleet_rows(["x"], 3)[2][1])])
    uploaded = await client.upload([more], fields={"label": "by-api"})
    assert uploaded.status == 201, uploaded.text
    api_job = uploaded.json()["job_id"]
    waited = cli(rollout, "status", api_job, "--wait", "--timeout", "60", "--json")
    assert waited.returncode == 0, waited.stderr
    assert json.loads(waited.stdout)["counts"]["succeeded"] == 1
    jobs = json.loads(cli(rollout, "jobs", "--json").stdout)["jobs"]
    assert [job["label"] for job in jobs] == ["by-api", "by-cli"]
    assert (await client.get("api/jobs")).json() == {"jobs": jobs}
    retried = cli(rollout, "retry", api_job, "--json")
    assert json.loads(retried.stdout) == {"job_id": api_job, "requeued": 0}
