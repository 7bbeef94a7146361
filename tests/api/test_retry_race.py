"""Clients racing a retry of the same job queue each failed item once between them."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from jobs.queue import TaskQueue
from pbxsim import SimulatorThread
from pbxsim.inventory import write_inventory
from tests.api.client import ApiClient
from tests.e2e import Rollout, fleet_rows, write_trunks_csv

pytestmark = pytest.mark.e2e
CLIENTS = 8


async def test_racing_retries_queue_each_failed_item_once(
    rollout: Rollout, sim: SimulatorThread, client: ApiClient, tmp_path: Path
) -> None:
    locked = sim.aliases()[0]
    trunks = write_trunks_csv(tmp_path / "trunks.csv", fleet_rows(sim.aliases(), per_pbx=4))
    inventory = [
        dict(row, client_secret="typo") if row["pbx"] == locked else row
        for row in sim.inventory_rows()
    ]
    write_inventory(inventory, tmp_path / "pbxs.csv")
    (worker,) = rollout.start_workers(1)
    submitted = await client.upload([trunks], tmp_path / "pbxs.csv")
    job_id = submitted.json()["job_id"]
    assert (await client.wait_final(job_id))["counts"]["failed"] == 4
    worker.stop()  # nothing drains the queue now: every task a retry queues stays to be counted
    queue = TaskQueue(rollout.client, rollout.queue)
    assert queue.length() == 0

    answers = await asyncio.gather(*(client.retry(job_id) for _ in range(CLIENTS)))

    assert [answer.status for answer in answers] == [200] * CLIENTS
    assert sum(answer.json()["requeued"] for answer in answers) == 4
    assert queue.length() == 4
    status = await client.status(job_id)
    assert status["pbxs"][locked] == {"queued": 4}
    assert status["counts"]["failed"] == 0
