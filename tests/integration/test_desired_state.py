"""Desired state end to end through the CLI: plan, apply, plan again, rollback (real workers,
the simulator as a real HTTP server)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from pbxsim import SimSettings, SimulatorThread
from pbxsim.inventory import write_inventory
from tests.e2e import Rollout, assert_delivered_once, create_counts, write_trunks_csv
from tests.integration.desired import (
    ROW_PASSWORD,
    cli,
    cli_json,
    mixed_fleet,
    pbx_state,
    peer_of,
    secrets_of,
    wanted_row,
)


@pytest.fixture
def sim() -> Iterator[SimulatorThread]:
    with SimulatorThread(SimSettings(pbx_count=3, latency_ms=5)) as simulator:
        yield simulator


def _actions(plan: dict[str, object]) -> dict[tuple[str, str], str]:
    rows = plan["rows"]
    assert isinstance(rows, list)
    return {(row["pbx"], row["name"]): row["action"] for row in rows}


def test_plan_apply_plan_again_and_roll_back(rollout: Rollout, sim: SimulatorThread) -> None:
    trunks, pbxs = mixed_fleet(sim, rollout.tmp_path)
    before = pbx_state(sim)
    rollout.start_workers(2)
    outputs: list[str] = []

    plan = cli_json(rollout, "plan", str(trunks), "--pbxs", str(pbxs), "--workers", "0")
    assert set(plan) >= {"plan_id", "counts", "rows"}
    assert plan["counts"] == {"create": 3, "same": 3, "update": 3, "conflict": 1, "unreadable": 0}
    actions = _actions(plan)
    for alias in sim.aliases():
        assert actions[alias, "absent"] == "create"
        assert actions[alias, "same"] == "same"
        assert actions[alias, "drifted"] == "update"
    assert actions["pbx-001", "conflict"] == "conflict"
    drifted = next(row for row in plan["rows"] if row["name"] == "drifted")
    assert set(drifted) == {
        "file", "line", "pbx", "name", "action", "trunk_id", "changes", "reason",
    }  # fmt: skip
    assert drifted["changes"] == {
        "port": {"old": 5070, "new": 5060},
        "password": {"old": "***", "new": "***"},
        "codec_sel": {"old": "alaw,ulaw", "new": "ulaw,alaw"},
    }
    conflict = next(row for row in plan["rows"] if row["action"] == "conflict")
    assert "type 'peer'" in conflict["reason"]
    assert pbx_state(sim) == before  # a plan reads, never writes
    assert all(not sim.updates_by_name(alias) for alias in sim.aliases())

    shown = cli(rollout, "plan", str(trunks), "--pbxs", str(pbxs), "--workers", "0")
    assert shown.returncode == 0, shown.stderr
    assert "password: changed" in shown.stdout
    assert "codec_sel: alaw,ulaw -> ulaw,alaw" in shown.stdout
    assert "per action: create 3, same 3, update 3, conflict 1" in shown.stdout
    outputs += [shown.stdout, shown.stderr]
    assert cli_json(rollout, "plan", "--show", plan["plan_id"]) == plan  # stored as reviewed

    counts_before = create_counts(sim)
    applied = cli_json(rollout, "apply", plan["plan_id"])
    assert applied == {"job_id": applied["job_id"], "queued": 9, "rejected": 1}
    status = rollout.wait_final(applied["job_id"])
    assert status["kind"] == "apply"
    assert status["counts"]["succeeded"] == 3
    assert status["counts"]["updated"] == 3
    assert status["counts"]["exists"] == 3
    assert status["counts"]["rejected"] == 1
    records = rollout.records(applied["job_id"])
    assert_delivered_once(sim, records, counts_before)
    updated = next(record for record in records if record["state"] == "updated")
    assert updated["detail"]["password"] == {"old": "***", "new": "***"}
    for alias in sim.aliases():
        assert sim.updates_by_name(alias) == {"drifted": {"accepted": 1, "refused": {}}}
        on_pbx = {trunk["name"]: trunk for trunk in sim.trunks(alias)}
        assert on_pbx["drifted"]["codec_sel"] == "ulaw,alaw"
        assert on_pbx["drifted"]["password"] == ROW_PASSWORD
    again = cli(rollout, "apply", plan["plan_id"])
    assert again.returncode == 2
    assert f"applied by job {applied['job_id']}" in again.stderr

    replanned = cli_json(rollout, "plan", str(trunks), "--pbxs", str(pbxs), "--workers", "0")
    assert replanned["counts"] == {
        "create": 0, "same": 9, "update": 0, "conflict": 1, "unreadable": 0,
    }  # fmt: skip

    dry = cli_json(rollout, "rollback", applied["job_id"], "--dry-run")
    assert dry["counts"] == {"delete": 3, "restore": 3}
    assert dry["left_alone"] == {"exists": 3, "rejected": 1}
    assert rollout.store.list_jobs()[0]["job_id"] == replanned["plan_id"]  # nothing queued

    undone = cli_json(rollout, "rollback", applied["job_id"])
    status = rollout.wait_final(undone["job_id"])
    assert status["kind"] == "rollback"
    assert status["counts"]["succeeded"] == 6, rollout.records(undone["job_id"])
    assert pbx_state(sim) == before
    for command in (
        ("report", applied["job_id"], "--format", "json"),
        ("report", undone["job_id"]),
        ("status", undone["job_id"]),
        ("jobs",),
    ):
        done = cli(rollout, *command)
        outputs += [done.stdout, done.stderr]
    outputs.append(rollout.worker_output())
    secrets = secrets_of(rollout, sim)
    assert len(secrets) > 2 + len(sim.aliases())  # the tokens were found too
    for text in outputs:
        for secret in secrets:
            assert secret not in text
    jobs = cli(rollout, "jobs").stdout
    assert "rollback" in jobs
    assert "apply" in jobs
    for alias in sim.aliases():  # two plans, an apply, a rollback, two workers: one login
        assert sim.counters(alias)["tokens_issued"] == 1


def test_a_plan_shows_a_pbx_with_a_wrong_secret_unreadable_and_reads_the_others(
    rollout: Rollout, sim: SimulatorThread
) -> None:
    trunks, pbxs = mixed_fleet(sim, rollout.tmp_path)
    wrong = "pbx-002"
    rows = [
        {**row, "client_secret": "wrong-secret-42"} if row["pbx"] == wrong else row
        for row in sim.inventory_rows()
    ]
    write_inventory(rows, pbxs)
    before = pbx_state(sim)

    done = cli(rollout, "plan", str(trunks), "--pbxs", str(pbxs), "--workers", "1", "--json")
    assert done.returncode == 1, done.stderr
    plan = json.loads(done.stdout)
    assert plan["counts"]["unreadable"] == 3
    for row in plan["rows"]:
        if row["pbx"] == wrong:
            assert row["action"] == "unreadable"
            assert "FAILURE" in row["reason"] or "refused" in row["reason"], row["reason"]
        else:
            assert row["action"] in {"create", "same", "update", "conflict"}
    assert plan["pbxs"][wrong] == {"unreadable": 3}
    assert sim.counters(wrong)["logins_failed"] == 1
    assert pbx_state(sim) == before
    assert "wrong-secret-42" not in done.stdout + done.stderr
    assert ROW_PASSWORD not in done.stdout + done.stderr


def test_an_invalid_row_plans_nothing(rollout: Rollout, sim: SimulatorThread) -> None:
    trunks, pbxs = mixed_fleet(sim, rollout.tmp_path)
    with trunks.open("a", encoding="utf-8") as handle:
        handle.write("pbx-001,bad name,,register\n")
    done = cli(rollout, "plan", str(trunks), "--pbxs", str(pbxs), "--workers", "0")
    assert done.returncode == 1
    assert "nothing planned" in done.stderr
    assert "wanted.csv:12: " in done.stderr
    assert rollout.store.list_jobs() == []


def test_apply_refuses_rows_whose_trunk_changed_since_the_plan(
    rollout: Rollout, sim: SimulatorThread
) -> None:
    trunks, pbxs = mixed_fleet(sim, rollout.tmp_path)
    rollout.start_workers(1)
    plan = cli_json(rollout, "plan", str(trunks), "--pbxs", str(pbxs), "--workers", "0")
    # Behind the plan's back, on pbx-002: `same` gets another port, `absent` is made by hand.
    changed = {**wanted_row("same", 1), "port": 5099}
    edit = write_trunks_csv(rollout.tmp_path / "edit.csv", [("pbx-002", changed)])
    done = cli_json(rollout, "submit", str(edit), "--pbxs", str(pbxs), "--update-existing")
    assert rollout.wait_final(done["job_id"])["counts"]["updated"] == 1
    sim.preload_trunks("pbx-002", [peer_of("absent")])
    updates_before = sim.updates_by_name("pbx-002")

    applied = cli_json(rollout, "apply", plan["plan_id"])
    rollout.wait_final(applied["job_id"])
    records = {(r["pbx"], r["name"]): r for r in rollout.records(applied["job_id"])}
    same = records["pbx-002", "same"]
    assert same["state"] == "failed"
    assert same["errmsg"] == "changed on the PBX since the plan read it: port"
    absent = records["pbx-002", "absent"]
    assert absent["state"] == "failed"
    assert absent["errmsg"] == (
        "changed on the PBX since the plan read it: a trunk named 'absent' was made there"
    )
    assert records["pbx-002", "drifted"]["state"] == "updated"
    assert records["pbx-001", "same"]["state"] == "exists"
    assert records["pbx-003", "absent"]["state"] == "succeeded"
    assert sim.updates_by_name("pbx-002")["same"] == updates_before["same"]  # not sent
    on_pbx = {trunk["name"]: trunk for trunk in sim.trunks("pbx-002")}
    assert on_pbx["same"]["port"] == 5099
    assert on_pbx["absent"]["type"] == "peer"
