"""Desired state through the HTTP API: the upload's `update_existing`, an updated item's detail
and every job's kind, with real workers and simulated PBXs."""

from __future__ import annotations

from pathlib import Path

import pytest

from pbxsim import SimulatorThread
from tests.api.client import ApiClient
from tests.e2e import Rollout, register_body, wait_for, write_trunks_csv

pytestmark = pytest.mark.e2e
OLD_PASSWORD = "OldSecret77Pw"


async def test_an_upload_with_update_existing_updates_and_says_so(
    rollout: Rollout, sim: SimulatorThread, client: ApiClient, tmp_path: Path
) -> None:
    wanted = register_body("carrier", 1)
    sim.preload_trunks("pbx-001", [{**wanted, "port": 5080, "password": OLD_PASSWORD}])
    trunks = write_trunks_csv(tmp_path / "trunks.csv", [("pbx-001", wanted)])
    pbxs = tmp_path / "pbxs.csv"
    sim.write_inventory(pbxs)
    rollout.start_workers(1)

    answer = await client.upload([trunks], pbxs, fields={"update_existing": "true"})
    assert answer.status == 201, answer.text
    job_id = answer.json()["job_id"]
    final = wait_for(lambda: rollout.wait_final_or_none(job_id), 60, "the job final")
    assert final["counts"]["updated"] == 1

    status = (await client.get(f"api/jobs/{job_id}")).json()
    assert status["counts"]["updated"] == 1
    assert (status["kind"], status["source"]) == ("rollout", None)
    items = (await client.get(f"api/jobs/{job_id}/items?state=updated")).json()["items"]
    assert items[0]["detail"] == {
        "port": {"old": 5080, "new": 5060},
        "password": {"old": "***", "new": "***"},
    }
    report = await client.get(f"api/jobs/{job_id}/report.csv")
    for text in (answer.text, report.text, str(status), str(items)):
        assert OLD_PASSWORD not in text
        assert wanted["password"] not in text
    listed = (await client.get("api/jobs")).json()["jobs"]
    assert listed[0]["kind"] == "rollout"
