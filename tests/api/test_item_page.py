"""JobStore.item_page: a page of a job's records, filtered by state and PBX, and the count."""

from __future__ import annotations

from pathlib import Path

from jobs.item_store import final_transition
from jobs.states import State
from jobs.transitions import TRANSITION_LUA
from pbxsim import SimulatorThread
from tests.e2e import Rollout, fleet_rows

PER_PBX = 5


def _fail(rollout: Rollout, job_id: str, numbers: list[int]) -> None:
    script = rollout.client.register_script(TRANSITION_LUA)
    for item_no in numbers:
        transition = final_transition(job_id, item_no, State.FAILED, errmsg="no")
        script(keys=transition.keys(), args=transition.args())


def test_pages_and_filters(rollout: Rollout, sim: SimulatorThread, tmp_path: Path) -> None:
    rows = fleet_rows(sim.aliases(), per_pbx=PER_PBX)  # PBX by PBX: lines 2-6, 7-11, 12-16
    job_id = rollout.submit(sim, rows).job_id or ""
    _fail(rollout, job_id, [2, 4, 6, 7, 13])  # items are numbered in queue order (round robin)
    store = rollout.store
    records = list(store.items(job_id))

    everything = store.item_page(job_id, 0, 100)
    assert everything == (records, 15)
    assert store.item_page(job_id, 4, 4) == (records[4:8], 15)
    assert store.item_page(job_id, 12, 4) == (records[12:], 15)
    assert store.item_page(job_id, 15, 4) == ([], 15)

    failed = [record for record in records if record["state"] == "failed"]
    assert len(failed) == 5
    assert store.item_page(job_id, 0, 100, states={"failed"}) == (failed, 5)
    assert store.item_page(job_id, 2, 2, states={"failed"}) == (failed[2:4], 5)
    both = store.item_page(job_id, 0, 100, states={"failed", "queued"})
    assert both == (records, 15)

    alias = sim.aliases()[1]
    mine = [record for record in records if record["pbx"] == alias]
    assert store.item_page(job_id, 0, 100, pbx=alias) == (mine, PER_PBX)
    mine_failed = [record for record in mine if record["state"] == "failed"]
    assert store.item_page(job_id, 0, 100, states={"failed"}, pbx=alias) == (
        mine_failed, len(mine_failed),
    )  # fmt: skip
    assert store.item_page(job_id, 0, 100, pbx="nobody") == ([], 0)
    assert store.item_page("no-such-job", 0, 100) is None
