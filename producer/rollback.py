"""`trunkctl rollback JOB`: a job that undoes a finished job on the PBXs.

A trunk JOB created (`succeeded`) is deleted; the fields JOB updated (`updated`) get the values
its update replaced, kept with its item when it ran (passwords included, never shown); anything
else (`exists`, `failed`...) is left alone. Each undo carries what JOB left the trunk with, so that
the worker (worker.trunk_rollback) refuses a trunk changed since.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from typing import Any

from core.errors import TrunkctlError
from jobs.item_reader import StoredItem, located_item, stored_items
from jobs.job_writer import NewItem
from jobs.operations import JobKind, Op
from jobs.queue import TaskQueue
from jobs.states import State
from jobs.store import JobStore
from producer.derived_jobs import DerivedJob, finished_source, queue_derived
from trunks.compare import KEY_FIELD

ROLLED_BACK_BY = "rolled_back_by"  # the job field naming the rollback that undoes it
UNDONE = (JobKind.ROLLOUT, JobKind.APPLY)


@dataclass(frozen=True, slots=True)
class RollbackPlan:
    """What a rollback of a job would do: its items, and the states of those it leaves alone."""

    source: str
    items: list[NewItem]
    left_alone: dict[str, int]

    def as_json(self) -> dict[str, Any]:
        """The `rollback --dry-run --json` object (never a value: fields by name only)."""
        actions = Counter(item.op.value for item in self.items)
        return {
            "source": self.source,
            "counts": {Op.DELETE.value: actions[Op.DELETE], Op.RESTORE.value: actions[Op.RESTORE]},
            "left_alone": self.left_alone,
            "items": [_shown(item) for item in self.items],
        }


def _shown(item: NewItem) -> dict[str, Any]:
    undo = item.op_data or {}
    fields = sorted(item.body or {}) if item.op is Op.RESTORE else []
    return {
        "file": item.file, "line": item.line, "pbx": item.pbx, "name": item.name,
        "action": item.op.value, "trunk_id": undo.get("trunk_id"), "fields": fields,
    }  # fmt: skip


def undo_item(item: StoredItem, job_id: str) -> NewItem | None:
    """The rollback's item for one item of the job (None: left alone)."""
    row = located_item(item)
    body = item.body or {}
    if item.trunk_id is None:
        return None
    if item.state == State.SUCCEEDED.value:
        expect = {field: value for field, value in body.items() if field != KEY_FIELD}
        undo = {"trunk_id": item.trunk_id, "expect": expect, "job_id": job_id, "did": "created"}
        return replace(row, op=Op.DELETE, op_data=undo)
    if item.state == State.UPDATED.value and item.old_values:
        expect = {field: body.get(field) for field in item.old_values}
        undo = {"trunk_id": item.trunk_id, "expect": expect, "job_id": job_id, "did": "updated"}
        return replace(row, op=Op.RESTORE, op_data=undo, body=dict(item.old_values))
    return None


def rollback_plan(store: JobStore, job_id: str) -> RollbackPlan:
    """What undoing the job would do (UsageError when it cannot be undone)."""
    finished_source(store, job_id, UNDONE, "only a rollout or an apply changes PBXs to undo")
    items: list[NewItem] = []
    left_alone: Counter[str] = Counter()
    for stored in stored_items(store, job_id):
        undo = undo_item(stored, job_id)
        if undo is None:
            left_alone[stored.state] += 1
        else:
            items.append(undo)
    return RollbackPlan(job_id, items, dict(sorted(left_alone.items())))


def rollback_job(
    store: JobStore, queue: TaskQueue, plan: RollbackPlan, label: str = ""
) -> DerivedJob:
    """Queue the rollback (once per job); a TrunkctlError when there is nothing to undo."""
    if not plan.items:
        left = ", ".join(f"{n} {state}" for state, n in plan.left_alone.items()) or "no items"
        raise TrunkctlError(f"nothing to undo: {plan.source} created and updated no trunk ({left})")
    return queue_derived(
        store, queue, plan.source, plan.items, kind=JobKind.ROLLBACK,
        label=label or f"rollback of {plan.source}", used_by=ROLLED_BACK_BY,
    )  # fmt: skip
