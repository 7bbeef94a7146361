"""`trunkctl submit`: validate the whole batch, store it as a job, queue one task per trunk.

Two streaming passes over the files: the first validates everything (nothing is stored if the
batch is refused), the second stores items in pipelined batches. Tasks are queued round-robin
across PBXs, so the first tasks a worker reserves spread over every PBX instead of one.
"""

from __future__ import annotations

import itertools
from array import array
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from jobs.queue import TaskQueue
from jobs.states import State
from jobs.store import JobStore, NewItem
from producer.batch import BatchRow, read_batch
from producer.inventory import Inventory, read_inventory
from producer.problems import Problem
from producer.validation import ValidationReport, check_batch
from trunkctl.errors import UsageError
from trunks.pbx import PbxEntry


@dataclass
class SubmitResult:
    """What submit did: the job (None when refused), tasks queued, rows rejected."""

    job_id: str | None
    queued: int
    rejected: int
    report: ValidationReport

    def as_json(self) -> dict[str, object]:
        """The `submit --json` object."""
        return {"job_id": self.job_id, "queued": self.queued, "rejected": self.rejected}


@dataclass
class RetryResult:
    """What retry did: tasks re-queued (None when the inventory was refused)."""

    job_id: str
    requeued: int | None
    problems: list[Problem]

    def as_json(self) -> dict[str, object]:
        """The `retry --json` object."""
        return {"job_id": self.job_id, "requeued": self.requeued or 0}


def _rejected_item(row: BatchRow) -> NewItem:
    return NewItem(
        file=row.file, line=row.line, pbx=row.pbx, name=row.name, type=row.type,
        state=State.REJECTED, errmsg="; ".join(_problem_text(p) for p in row.problems),
        detail=[{"column": p.column, "message": p.message} for p in row.problems],
    )  # fmt: skip


def _problem_text(problem: Problem) -> str:
    return f"{problem.column}: {problem.message}" if problem.column else problem.message


def _round_robin(job_id: str, by_pbx: Mapping[str, array[int]]) -> Iterator[tuple[str, int]]:
    for numbers in itertools.zip_longest(*by_pbx.values()):
        for item_no in numbers:
            if item_no is not None:
                yield job_id, item_no


@dataclass
class Submitter:
    """Submits batches to one job store and queue."""

    store: JobStore
    queue: TaskQueue

    def submit(
        self,
        trunk_paths: Sequence[str | Path],
        pbxs_path: str | Path | None,
        *,
        skip_invalid: bool = False,
        label: str = "",
    ) -> SubmitResult:
        """Validate, then (unless refused) store the job and queue its tasks."""
        inventory = read_inventory(pbxs_path) if pbxs_path else Inventory()
        stored = self.store.stored_entries()
        report = check_batch(trunk_paths, inventory, stored)
        if report.batch_unusable or (report.invalid and not skip_invalid) or not report.valid:
            return SubmitResult(None, 0, 0, report)
        entries = {**stored, **inventory.entries}
        self.store.store_entries(inventory.entries.values())
        used = {alias: entries[alias] for alias in report.used_aliases}
        files = [str(path) for path in trunk_paths]
        job_id, by_pbx, rejected = self._store_items(trunk_paths, files, label, used, set(entries))
        queued = self.queue.publish(_round_robin(job_id, by_pbx))
        return SubmitResult(job_id, queued, rejected, report)

    def retry(self, job_id: str, pbxs_path: str | Path | None) -> RetryResult:
        """Re-queue a job's failed items, with a corrected inventory when one is given."""
        inventory = read_inventory(pbxs_path) if pbxs_path else Inventory()
        if inventory.problems:
            return RetryResult(job_id, None, inventory.problems)
        requeued = self.store.retry(job_id, inventory.entries)
        if requeued is None:
            raise UsageError(f"no job {job_id!r} (unknown, or expired)")
        count = self.queue.publish(_round_robin(job_id, requeued))
        return RetryResult(job_id, count, [])

    def _store_items(
        self,
        trunk_paths: Sequence[str | Path],
        files: list[str],
        label: str,
        used: dict[str, PbxEntry],
        aliases: set[str],
    ) -> tuple[str, dict[str, array[int]], int]:
        writer = self.store.create_job(label, files, used)
        by_pbx: dict[str, array[int]] = {}
        rejected = 0
        for row in read_batch(trunk_paths, aliases):
            if not isinstance(row, BatchRow):
                continue  # header problems were refused by the first pass
            if row.request is None:
                writer.add(_rejected_item(row))
                rejected += 1
                continue
            item = NewItem(
                file=row.file, line=row.line, pbx=row.pbx, name=row.name, type=row.type,
                state=State.QUEUED, body=row.request.request_body(),
            )  # fmt: skip
            by_pbx.setdefault(row.pbx, array("L")).append(writer.add(item))
        writer.finish()
        return writer.job_id, by_pbx, rejected
