"""`submit --update-existing` and `rollback` end to end: only the differing fields sent, an
update whose answer was lost not sent twice, old values (passwords included) restored and never
shown, trunks changed behind a rollback's back left alone, a delete the PBX refuses."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from pbxsim import SimSettings, SimulatorThread
from tests.e2e import Rollout, assert_delivered_once, register_body, write_trunks_csv
from tests.integration.desired import DRIFTED_PASSWORD, ROW_PASSWORD, cli, cli_json, wanted_row


@pytest.fixture
def sim() -> Iterator[SimulatorThread]:
    with SimulatorThread(SimSettings(pbx_count=2, latency_ms=5)) as simulator:
        yield simulator


def _on_pbx(sim: SimulatorThread, alias: str, name: str) -> dict[str, Any]:
    return next(trunk for trunk in sim.trunks(alias) if trunk["name"] == name)


def _submit_cli(rollout: Rollout, sim: SimulatorThread, rows: list[Any], *options: str) -> str:
    trunks = write_trunks_csv(rollout.tmp_path / "rows.csv", rows)
    pbxs = rollout.tmp_path / "pbxs.csv"
    sim.write_inventory(pbxs)
    submitted = cli_json(rollout, "submit", str(trunks), "--pbxs", str(pbxs), *options)
    return str(submitted["job_id"])


def test_update_existing_sends_only_what_differs_and_rollback_restores_it(
    rollout: Rollout, sim: SimulatorThread
) -> None:
    old = {**wanted_row("carrier", 1), "codec_sel": "alaw,ulaw", "password": DRIFTED_PASSWORD}
    sim.preload_trunks("pbx-001", [old, wanted_row("steady", 2)])
    rows = [
        ("pbx-001", wanted_row("carrier", 1)),
        ("pbx-001", wanted_row("steady", 2)),
        ("pbx-002", wanted_row("fresh", 3)),
    ]
    rollout.start_workers(1)
    job_id = _submit_cli(rollout, sim, rows, "--update-existing")
    status = rollout.wait_final(job_id)
    assert status["counts"]["updated"] == 1
    assert status["counts"]["exists"] == 1
    assert status["counts"]["succeeded"] == 1
    records = {record["name"]: record for record in rollout.records(job_id)}
    assert records["carrier"]["state"] == "updated"
    assert records["carrier"]["detail"] == {
        "password": {"old": "***", "new": "***"},
        "codec_sel": {"old": "alaw,ulaw", "new": "ulaw,alaw"},
    }
    assert records["steady"]["state"] == "exists"
    assert sim.updates_by_name("pbx-001") == {"carrier": {"accepted": 1, "refused": {}}}
    carrier = _on_pbx(sim, "pbx-001", "carrier")
    assert carrier["codec_sel"] == "ulaw,alaw"
    assert carrier["password"] == ROW_PASSWORD
    assert_delivered_once(sim, rollout.records(job_id))

    undone = cli_json(rollout, "rollback", job_id)
    status = rollout.wait_final(undone["job_id"])
    assert status["counts"]["succeeded"] == 2
    carrier = _on_pbx(sim, "pbx-001", "carrier")
    assert carrier["codec_sel"] == "alaw,ulaw"
    assert carrier["password"] == DRIFTED_PASSWORD  # the old password, restored
    assert [trunk["name"] for trunk in sim.trunks("pbx-002")] == []  # the created one deleted
    outputs = [rollout.worker_output()]
    for args in (
        ("report", job_id), ("report", undone["job_id"], "--format", "json"),
        ("status", undone["job_id"], "--json"), ("rollback", job_id, "--dry-run"),
    ):  # fmt: skip
        done = cli(rollout, *args)
        outputs += [done.stdout, done.stderr]
    for text in outputs:
        assert ROW_PASSWORD not in text
        assert DRIFTED_PASSWORD not in text


def test_an_update_whose_answer_was_lost_is_not_sent_again(
    rollout: Rollout, sim: SimulatorThread
) -> None:
    old = {**wanted_row("carrier", 1), "port": 5070}
    sim.preload_trunks("pbx-001", [old])
    sim.set_faults([{"endpoint": "trunk/update", "kind": "drop_after", "nth": 1}])
    rollout.start_workers(1)
    job_id = _submit_cli(rollout, sim, [("pbx-001", wanted_row("carrier", 1))], "--update-existing")
    status = rollout.wait_final(job_id)
    assert status["counts"]["updated"] == 1, rollout.records(job_id)
    (record,) = rollout.records(job_id)
    assert record["detail"] == {"port": {"old": 5070, "new": 5060}}
    assert sim.updates_by_name("pbx-001") == {"carrier": {"accepted": 1, "refused": {}}}
    assert _on_pbx(sim, "pbx-001", "carrier")["port"] == 5060


def test_rollback_leaves_a_trunk_changed_behind_its_back(
    rollout: Rollout, sim: SimulatorThread
) -> None:
    rollout.start_workers(1)
    rows = [("pbx-001", register_body(f"t{n}", n)) for n in range(3)]
    job_id = _submit_cli(rollout, sim, rows)
    assert rollout.wait_final(job_id)["counts"]["succeeded"] == 3
    # Someone changes t1's codec order on the PBX after the rollout (here: another job).
    edit = _submit_cli(
        rollout, sim, [("pbx-001", {**register_body("t1", 1), "codec_sel": "alaw"})],
        "--update-existing",
    )  # fmt: skip
    assert rollout.wait_final(edit)["counts"]["updated"] == 1

    undone = cli_json(rollout, "rollback", job_id)
    status = rollout.wait_final(undone["job_id"])
    assert status["counts"] == {**status["counts"], "succeeded": 2, "failed": 1}
    records = {record["name"]: record for record in rollout.records(undone["job_id"])}
    assert records["t1"]["state"] == "failed"
    assert records["t1"]["errmsg"] == (
        f"changed on the PBX since job {job_id} created it: codec_sel; left as it is"
    )
    assert [trunk["name"] for trunk in sim.trunks("pbx-001")] == ["t1"]
    assert_delivered_once(sim, rollout.records(job_id))
    assert _on_pbx(sim, "pbx-001", "t1")["codec_sel"] == "alaw"
    assert "t1" not in sim.deletes_by_name("pbx-001")  # never asked to delete it


def test_a_delete_the_pbx_refuses_fails_with_its_reason(
    rollout: Rollout, sim: SimulatorThread
) -> None:
    rollout.start_workers(1)
    rows = [("pbx-001", register_body("routed", 1)), ("pbx-001", register_body("free", 2))]
    job_id = _submit_cli(rollout, sim, rows)
    assert rollout.wait_final(job_id)["counts"]["succeeded"] == 2
    sim.configure("pbx-001", trunks_in_use=["routed"])

    dry = cli(rollout, "rollback", job_id, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "nothing queued" in dry.stderr
    assert len(rollout.store.list_jobs()) == 1  # the dry run queued no job

    undone = cli_json(rollout, "rollback", job_id)
    rollout.wait_final(undone["job_id"])
    records = {record["name"]: record for record in rollout.records(undone["job_id"])}
    assert records["free"]["state"] == "succeeded"
    assert records["routed"]["state"] == "failed"
    assert records["routed"]["errcode"] == 70091
    assert {trunk["name"] for trunk in sim.trunks("pbx-001")} == {"routed"}
    again = cli(rollout, "rollback", job_id)
    assert again.returncode == 2
    assert f"rolled back by job {undone['job_id']}" in again.stderr


def test_a_delete_whose_answer_was_lost_counts_as_done(
    rollout: Rollout, sim: SimulatorThread
) -> None:
    rollout.start_workers(1)
    job_id = _submit_cli(rollout, sim, [("pbx-001", register_body("gone", 1))])
    assert rollout.wait_final(job_id)["counts"]["succeeded"] == 1
    sim.set_faults([{"endpoint": "trunk/delete", "kind": "drop_after", "nth": 1}])
    undone = cli_json(rollout, "rollback", job_id)
    status = rollout.wait_final(undone["job_id"])
    assert status["counts"]["succeeded"] == 1, rollout.records(undone["job_id"])
    assert sim.trunks("pbx-001") == []
    assert sim.deletes_by_name("pbx-001")["gone"]["accepted"] == 1
