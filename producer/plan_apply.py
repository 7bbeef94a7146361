"""`trunkctl apply PLAN`: a reviewed plan run as a job, exactly as it was planned.

Each planned row becomes an item of operation `apply` (worker.trunk_update) that carries its
plan row: `create` rows are created, `update` rows get the planned changes, `same` rows end
`exists`, each only if its trunk did not change on the PBX since the plan read it. A row the plan
could not act on (`conflict`, `unreadable`) is stored `rejected` with the plan's reason: nothing
is sent for it.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from jobs.item_reader import StoredItem, located_item, stored_items
from jobs.job_writer import NewItem
from jobs.operations import JobKind, Op, PlanAction
from jobs.queue import TaskQueue
from jobs.states import State
from jobs.store import JobStore
from producer.derived_jobs import DerivedJob, finished_source, queue_derived

APPLIED_BY = "applied_by"  # the plan's job field naming the job that applied it
RUNNABLE = frozenset({PlanAction.CREATE.value, PlanAction.UPDATE.value, PlanAction.SAME.value})


def _action(item: StoredItem) -> tuple[str, str]:
    """The row's planned action and, for one that cannot run, why."""
    detail: Any = item.detail
    if item.state != State.SUCCEEDED.value or not isinstance(detail, dict):
        why = item.errmsg or f"not read ({item.state})"
        return PlanAction.UNREADABLE.value, f"its PBX could not be read when planned: {why}"
    return str(detail.get("action")), str(detail.get("reason") or "")


def apply_item(item: StoredItem) -> NewItem:
    """The apply job's item for one plan row."""
    action, reason = _action(item)
    row = located_item(item)
    if action not in RUNNABLE or item.body is None:
        return replace(row, state=State.REJECTED, errmsg=f"not applied: {action}: {reason}")
    planned = {"action": action, "trunk_id": item.trunk_id, "seen": item.seen or {}}
    return replace(row, body=item.body, op=Op.APPLY, op_data=planned)


def apply_plan(store: JobStore, queue: TaskQueue, plan_id: str, label: str = "") -> DerivedJob:
    """Queue the plan as an apply job (once per plan)."""
    finished_source(store, plan_id, (JobKind.PLAN,), "apply takes a plan ('trunkctl plan')")
    items = [apply_item(item) for item in stored_items(store, plan_id)]
    return queue_derived(
        store, queue, plan_id, items, kind=JobKind.APPLY,
        label=label or f"apply of plan {plan_id}", used_by=APPLIED_BY,
    )  # fmt: skip
