"""How plans, applies and rollbacks are made from stored items (pure logic, no Redis)."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from jobs.item_reader import StoredItem
from jobs.job_writer import NewItem
from jobs.operations import Op
from jobs.plan_view import fully_planned, plan_json
from jobs.records import Item
from jobs.states import State
from producer.plan_apply import apply_item
from producer.rollback import RollbackPlan, undo_item
from tests.e2e import register_body

BODY = register_body("carrier", 1)
STORED = StoredItem(
    item_no=1, file="t.csv", line=2, pbx="hq", name="carrier", type="register",
    state="succeeded", trunk_id=8, errmsg="", detail=None, body=BODY, old_values=None, seen=None,
)  # fmt: skip


def _record(state: str, detail: Any = None, errmsg: str = "") -> dict[str, Any]:
    return {
        "file": "t.csv", "line": 2, "pbx": "hq", "name": "carrier", "state": state,
        "trunk_id": 8, "detail": detail, "errmsg": errmsg or None,
    }  # fmt: skip


def test_a_plan_counts_every_action_and_names_the_unreadable_reason() -> None:
    update = {"action": "update", "changes": {"port": {"old": 5070, "new": 5060}}, "reason": None}
    plan = plan_json(
        "p1",
        [
            _record("succeeded", update),
            _record("succeeded", {"action": "same", "changes": {}, "reason": None}),
            _record("failed", errmsg="trunk/search: timed out after 30 s"),
        ],
    )
    assert plan["counts"] == {"create": 0, "same": 1, "update": 1, "conflict": 0, "unreadable": 1}
    assert plan["rows"][0] == {
        "file": "t.csv", "line": 2, "pbx": "hq", "name": "carrier", "action": "update",
        "trunk_id": 8, "changes": {"port": {"old": 5070, "new": 5060}}, "reason": None,
    }  # fmt: skip
    assert plan["rows"][2]["reason"] == "trunk/search: timed out after 30 s"
    assert plan["pbxs"] == {"hq": {"update": 1, "same": 1, "unreadable": 1}}
    assert not fully_planned(plan)


def test_an_apply_item_carries_its_plan_row_and_an_unrunnable_row_is_rejected() -> None:
    planned = replace(STORED, detail={"action": "update", "changes": {}}, seen={"port": 5070})
    item = apply_item(planned)
    assert (item.state, item.op, item.body) == (State.QUEUED, Op.APPLY, BODY)
    assert item.op_data == {"action": "update", "trunk_id": 8, "seen": {"port": 5070}}
    conflict = apply_item(replace(STORED, detail={"action": "conflict", "reason": "type 'peer'"}))
    assert conflict.state is State.REJECTED
    assert conflict.errmsg == "not applied: conflict: type 'peer'"
    unread = apply_item(replace(STORED, state="failed", errmsg="refused"))
    assert unread.state is State.REJECTED
    assert "could not be read when planned: refused" in unread.errmsg


def test_a_created_trunk_is_deleted_and_an_updated_one_restored() -> None:
    deleted = undo_item(STORED, "job1")
    assert deleted is not None
    assert (deleted.op, deleted.body) == (Op.DELETE, None)
    assert deleted.op_data is not None
    assert deleted.op_data["expect"] == {k: v for k, v in BODY.items() if k != "name"}
    old = {"port": 5070, "password": "Old0001Pass"}
    restored = undo_item(replace(STORED, state="updated", old_values=old), "job1")
    assert restored is not None
    assert (restored.op, restored.body) == (Op.RESTORE, old)
    assert restored.op_data == {
        "trunk_id": 8, "expect": {"port": 5060, "password": BODY["password"]},
        "job_id": "job1", "did": "updated",
    }  # fmt: skip
    for state in ("exists", "failed", "rejected", "cancelled"):
        assert undo_item(replace(STORED, state=state), "job1") is None


def test_a_dry_run_names_fields_never_values() -> None:
    old = {"port": 5070, "password": "Old0001Pass"}
    restored = undo_item(replace(STORED, state="updated", old_values=old), "job1")
    assert restored is not None
    shown = RollbackPlan("job1", [restored], {"exists": 2}).as_json()
    assert shown["counts"] == {"delete": 0, "restore": 1}
    assert shown["items"][0]["fields"] == ["password", "port"]
    assert "Old0001Pass" not in json.dumps(shown)
    assert BODY["password"] not in json.dumps(shown)


def test_items_of_other_operations_are_stored_to_be_looked_up_first() -> None:
    item = NewItem("t.csv", 2, "hq", "carrier", "register", State.QUEUED, op=Op.UPSERT)
    stored = item.as_hash("2026-12-01T00:00:00Z")
    assert stored["op"] == "upsert"
    assert stored["taken_before"] == 1  # the claim counts no create attempt for it
    plain = NewItem("t.csv", 2, "hq", "carrier", "register", State.QUEUED).as_hash("now")
    assert "op" not in plain
    assert "taken_before" not in plain
    read = Item.from_hash(
        "j", 1, {**stored, "op_data": json.dumps({"trunk_id": 3}), "write_sent": "1"}
    )
    assert (read.op, read.op_data, read.write_sent) == (Op.UPSERT, {"trunk_id": 3}, True)
