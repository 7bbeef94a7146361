"""A PBX that accepts connections and answers nothing (issue 16): probed, not hammered and not
abandoned. Real Redis, real Celery workers, the simulator's `hang` fault over HTTP."""

from __future__ import annotations

import time
from typing import Any

import pytest

from core import keys
from pbxsim import SimSettings, SimulatorThread
from tests.e2e import Rollout, fleet_rows, wait_for
from worker.pbx.login_gate import UNANSWERED_BURST, UNANSWERED_SPACING_S

pytestmark = pytest.mark.e2e
HANG_S = 60.0
PER_PBX = 4
# The probes of a hung PBX, this often (120 s in production, TRUNKCTL_HUNG_PBX_PROBE_S).
PROBE_EVERY_S = 15.0


@pytest.fixture
def sim() -> Any:
    with SimulatorThread(SimSettings(pbx_count=2, latency_ms=20)) as simulator:
        yield simulator


def _hang(sim: SimulatorThread, alias: str) -> list[dict[str, Any]]:
    """Hang the PBX; the inventory, with a short timeout for it."""
    sim.set_faults([{"pbx": alias, "endpoint": "*", "kind": "hang"}])
    return [dict(row, timeout_s=1) if row["pbx"] == alias else row for row in sim.inventory_rows()]


def _assert_each_created_once(sim: SimulatorThread, alias: str) -> None:
    names = [trunk["name"] for trunk in sim.trunks(alias)]
    assert len(names) == len(set(names)) == PER_PBX
    assert sim.counters(alias)["requests"]["trunk/create"] == PER_PBX


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_a_pbx_that_hangs_for_a_minute_gets_its_trunks_once_it_answers_again(
    rollout: Rollout, sim: SimulatorThread
) -> None:
    hung, fine = sim.aliases()
    inventory = _hang(sim, hung)
    hang_ends_at = time.monotonic() + HANG_S
    rollout.settings.update(
        TRUNKCTL_RETRY_WINDOW_S="400", TRUNKCTL_HUNG_PBX_PROBE_S=str(PROBE_EVERY_S)
    )
    rollout.start_workers(2)
    job_id = rollout.submit(sim, fleet_rows([hung, fine], PER_PBX), inventory).job_id or ""
    # The other PBX of the job is served while this one hangs.
    wait_for(
        lambda: (rollout.store.status(job_id) or {})["pbxs"].get(fine) == {"succeeded": PER_PBX}
        or None,
        30, "the PBX that answers served",
    )  # fmt: skip
    # Its items wait, saying why.
    wait_for(
        lambda: b"got no answer" in (rollout.client.hget(keys.item(job_id, 1), "errmsg") or b"")
        or None,
        30, "the hung PBX's items saying why they wait",
    )  # fmt: skip
    # The PBX stays hung for HANG_S: it is probed, not hammered.
    wait_for(lambda: time.monotonic() >= hang_ends_at or None, HANG_S + 5, "the hang's end")
    assert not rollout.wait_final_or_none(job_id)
    logins_while_hung = sim.counters(hung)["requests"]["get_token"]
    assert 1 <= logins_while_hung <= UNANSWERED_BURST + int(HANG_S // PROBE_EVERY_S)
    assert set(sim.counters(hung)["requests"]) == {"get_token"}  # no token, so nothing else
    sim.set_faults([])
    status = rollout.wait_final(job_id, timeout_s=PROBE_EVERY_S + 60)
    assert status["outcome"] == "success"
    _assert_each_created_once(sim, hung)
    _assert_each_created_once(sim, fine)
    assert sim.counters(hung)["requests"]["get_token"] == logins_while_hung + 1


@pytest.mark.timeout(200)
def test_retry_probes_a_pbx_that_answers_again_afresh(
    rollout: Rollout, sim: SimulatorThread
) -> None:
    # A retry window shorter than the spacing: the items fail while the PBX hangs, saying why.
    # Once it answers, `retry` logs in at once instead of waiting for the next probe.
    hung, _fine = sim.aliases()
    inventory = _hang(sim, hung)
    rollout.settings.update(TRUNKCTL_RETRY_WINDOW_S="30")
    rollout.start_workers(1)
    job_id = rollout.submit(sim, fleet_rows([hung], PER_PBX), inventory).job_id or ""
    rollout.wait_final(job_id)
    records = rollout.records(job_id)
    assert {record["state"] for record in records} == {"failed"}
    assert all("got no answer" in record["errmsg"] for record in records), records[0]["errmsg"]
    logins = sim.counters(hung)["requests"]["get_token"]
    assert logins == UNANSWERED_BURST
    next_probe_at = time.time() + UNANSWERED_SPACING_S / 2  # at the earliest
    sim.set_faults([])
    assert rollout.submitter.retry(job_id, None).requeued == PER_PBX
    assert rollout.wait_final(job_id)["outcome"] == "success"
    assert time.time() < next_probe_at  # it did not wait for the spacing
    assert sim.counters(hung)["requests"]["get_token"] == logins + 1
    _assert_each_created_once(sim, hung)
