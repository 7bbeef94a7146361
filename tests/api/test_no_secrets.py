"""No secret in any answer, header or log line of the server: client secrets, trunk passwords
(valid or not, stored or refused) and the API token itself."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from pbxsim import SimulatorThread
from pbxsim.inventory import write_inventory
from tests.api.client import ApiClient
from tests.api.conftest import TOKEN
from tests.api.server_process import ServeProcess
from tests.e2e import Rollout, fleet_rows, write_trunks_csv

pytestmark = pytest.mark.e2e
WRONG_SECRET = "Wr0ngClientSecret-4242"
BAD_PASSWORD = "sh0rtPw"  # too short for a register trunk: an error that must not echo it
SPACED_PASSWORD = " Spaced1Password "
URL_PASSWORD = "UrlPa55word99"


def _inventory_with_problems(sim: SimulatorThread, path: Path) -> None:
    rows = sim.inventory_rows()
    rows[0] = dict(rows[0], base_url=f"http://admin:{URL_PASSWORD}@127.0.0.1:1/x")
    rows[1] = dict(rows[1], max_inflight="many")
    write_inventory(rows, path)


async def test_no_secret_reaches_an_answer_or_the_log(
    rollout: Rollout, sim: SimulatorThread, server: ServeProcess, client: ApiClient,
    tmp_path: Path,
) -> None:  # fmt: skip
    locked = sim.aliases()[0]
    rows = fleet_rows(sim.aliases(), per_pbx=2)
    rows.append((locked, dict(rows[0][1], name="too-short", password=BAD_PASSWORD)))
    rows.append((locked, dict(rows[0][1], name="spaced", password=SPACED_PASSWORD)))
    trunks = write_trunks_csv(tmp_path / "trunks.csv", rows)
    good = sim.inventory_rows()
    secrets = [row["client_secret"] for row in good] + [body["password"] for _, body in rows]
    secrets += [WRONG_SECRET, URL_PASSWORD, TOKEN]
    wrong = [dict(row, client_secret=WRONG_SECRET) if row["pbx"] == locked else row for row in good]
    write_inventory(wrong, tmp_path / "wrong.csv")
    write_inventory(good, tmp_path / "good.csv")
    _inventory_with_problems(sim, tmp_path / "broken.csv")
    rollout.start_workers(1)

    assert (await client.upload([trunks], tmp_path / "broken.csv")).status == 422
    assert (await client.upload([trunks], tmp_path / "wrong.csv")).status == 422
    submitted = await client.upload(
        [trunks], tmp_path / "wrong.csv", fields={"skip_invalid": "true"}
    )
    assert submitted.status == 201, submitted.text
    job_id = submitted.json()["job_id"]
    assert (await client.wait_final(job_id))["counts"]["failed"] == 2
    await client.get(f"api/jobs/{job_id}/items?page_size=1000")
    await client.get(f"api/jobs/{job_id}/report.csv")
    assert (await client.retry(job_id, tmp_path / "broken.csv")).status == 422
    assert (await client.retry(job_id, tmp_path / "good.csv")).status == 200
    assert (await client.wait_final(job_id))["counts"]["failed"] == 0
    for path in ("api/jobs", f"api/jobs/{job_id}", f"api/jobs/{job_id}/report.csv", "", "healthz"):
        await client.get(path)
    await client.get("api/jobs", token=WRONG_SECRET)

    uploaded = list(csv.DictReader((tmp_path / "trunks.csv").read_text().splitlines()))
    assert [row["password"] for row in uploaded[-2:]] == [BAD_PASSWORD, SPACED_PASSWORD]
    texts = [answer.text for answer in client.answers]
    texts += [f"{name}: {value}" for a in client.answers for name, value in a.headers.items()]
    assert len(client.answers) > 12
    server.stop()
    texts.append(server.output())
    assert "POST /api/jobs 201" in server.output()
    leaks = {secret for secret in secrets for text in texts if secret.strip() in text}
    assert leaks == set()
