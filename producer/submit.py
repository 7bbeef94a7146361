"""`trunkctl submit`: validate the whole batch, store it as a job, queue one task per trunk.

The first pass over the files validates everything: nothing is stored if the batch is refused.
Tasks are queued round-robin across PBXs, so the first tasks a worker reserves spread over every
PBX instead of one. Then:
- a batch of at most KEEP_ROWS rows was kept in memory by that pass: its items are stored a chunk
  at a time in that round-robin order, each chunk's tasks queued as soon as it is stored, so the
  workers start while the rest is being stored;
- a larger batch is read a second time, its items stored in pipelined batches, then its tasks
  queued (memory stays flat, however many rows).
"""

from __future__ import annotations

import itertools
from array import array
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from os import PathLike

from redis.exceptions import RedisError

from core.errors import TrunkctlError, UsageError
from jobs.job_retry import JobRetry
from jobs.job_writer import JobWriter, NewItem, cut_short_advice
from jobs.operations import JobKind, Op
from jobs.queue import QueuedTask, TaskQueue, batches
from jobs.states import State
from jobs.store import JobStore
from producer.batch import BatchRow, read_batch
from producer.input_files import DEFAULT_LIMITS, InputLimits
from producer.inventory import Inventory, read_inventory
from producer.problems import Problem
from producer.uninterrupted import InterruptedAfterCommitError, signals_held
from producer.validation import ValidationReport, check_batch


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


# Rows of a batch this small are kept from the validation pass (about 1 KiB each).
KEEP_ROWS = 10_000


def _rejected_item(row: BatchRow) -> NewItem:
    return NewItem(
        file=row.file, line=row.line, pbx=row.pbx, name=row.name, type=row.type,
        state=State.REJECTED, errmsg="; ".join(_problem_text(p) for p in row.problems),
        detail=[{"column": p.column, "message": p.message} for p in row.problems],
    )  # fmt: skip


def _problem_text(problem: Problem) -> str:
    return f"{problem.column}: {problem.message}" if problem.column else problem.message


def _new_item(row: BatchRow, op: Op = Op.CREATE) -> NewItem:
    if row.request is None:
        return _rejected_item(row)
    return NewItem(
        file=row.file, line=row.line, pbx=row.pbx, name=row.name, type=row.type,
        state=State.QUEUED, body=row.request.request_body(), op=op,
    )  # fmt: skip


class _KeptItems:
    """The batch's items, kept as the validation pass reads them, while there are few enough and
    the batch can still be accepted (`items` is None otherwise)."""

    def __init__(self, skip_invalid: bool, op: Op) -> None:
        self.items: list[NewItem] | None = []
        self._skip_invalid = skip_invalid
        self._op = op

    def keep(self, row: BatchRow) -> None:
        if self.items is None:
            return
        if len(self.items) >= KEEP_ROWS or (row.problems and not self._skip_invalid):
            self.items = None  # too many to keep, or the batch will be refused
            return
        self.items.append(_new_item(row, self._op))


def _round_robin(job_id: str, by_pbx: Mapping[str, array[int]]) -> Iterator[QueuedTask]:
    """Every PBX's first item, then every PBX's second... each with its rank within its PBX."""
    for rank, numbers in enumerate(itertools.zip_longest(*by_pbx.values())):
        for item_no in numbers:
            if item_no is not None:
                yield job_id, item_no, rank


def store_and_queue(writer: JobWriter, queue: TaskQueue, items: list[NewItem]) -> int:
    """Store a new job's items and queue the tasks of those queued, round-robin across PBXs, a
    chunk at a time (workers start while the rest is stored); the tasks queued."""
    by_pbx: dict[str, array[int]] = {}
    for item_no, item in enumerate(items, start=1):
        writer.tally(item)
        if item.state is State.QUEUED:
            by_pbx.setdefault(item.pbx, array("L")).append(item_no)
        else:
            writer.put(item_no, item)  # rejected: stored, never queued
    writer.finish()  # the counts, before any task
    queued = 0
    for chunk in batches(_round_robin(writer.job_id, by_pbx)):
        for _job_id, item_no, _rank in chunk:
            writer.put(item_no, items[item_no - 1])
        writer.flush()
        queued += queue.push(chunk)
    return queued


@dataclass
class Submitter:
    """Submits batches to one job store and queue."""

    store: JobStore
    queue: TaskQueue
    # Where `env:` client secrets are read (None: os.environ); the HTTP API lends none of its own.
    environ: Mapping[str, str] | None = None
    limits: InputLimits = DEFAULT_LIMITS

    def submit(
        self,
        trunk_paths: Sequence[str | PathLike[str]],
        pbxs_path: str | PathLike[str] | None,
        *,
        skip_invalid: bool = False,
        label: str = "",
        op: Op = Op.CREATE,
        kind: JobKind = JobKind.ROLLOUT,
    ) -> SubmitResult:
        """Validate, then (unless refused) store the job and queue its tasks. `op`: what each
        trunk asks of its PBX (a create; `upsert` for --update-existing; `read` for a plan)."""
        inventory = self._inventory(pbxs_path)
        stored = self.store.stored_entries()
        kept = _KeptItems(skip_invalid, op)
        report = check_batch(trunk_paths, inventory, stored, kept.keep, self.limits)
        if report.batch_unusable or (report.invalid and not skip_invalid) or not report.valid:
            return SubmitResult(None, 0, 0, report)
        entries = {**stored, **inventory.entries}
        with signals_held() as interrupted:  # a job stored or queued half way would never end
            self.store.store_entries(inventory.entries.values())
            writer = self.store.create_job(
                label, [str(path) for path in trunk_paths],
                {alias: entries[alias] for alias in report.used_aliases}, kind=kind,
            )  # fmt: skip
            try:
                if kept.items is not None:
                    queued = store_and_queue(writer, self.queue, kept.items)
                else:
                    by_pbx = self._store_items(writer, trunk_paths, set(entries), op)
                    queued = self.queue.publish(_round_robin(writer.job_id, by_pbx))
                writer.done()
            except RedisError as exc:
                raise TrunkctlError(
                    f"lost Redis while storing job {writer.job_id} ({exc}); its submit is cut "
                    f"short: once Redis answers again, {cut_short_advice(writer.job_id)}"
                ) from None
        if interrupted:
            raise InterruptedAfterCommitError(
                f"interrupted, after job {writer.job_id} was stored and its {queued} tasks queued"
            )
        return SubmitResult(writer.job_id, queued, report.invalid, report)

    def retry(
        self, job_id: str, pbxs_path: str | PathLike[str] | None, *, relogin: bool = False
    ) -> RetryResult:
        """Re-queue a job's failed and cancelled items, with a corrected inventory when one is
        given (and the stored items of a job whose submit was cut short); `relogin`: try the
        secrets their PBXs refused once more (see JobRetry.retry)."""
        inventory = self._inventory(pbxs_path)
        if inventory.problems:
            return RetryResult(job_id, None, inventory.problems)
        with signals_held() as interrupted:  # items moved back to queued must all get a task
            requeued = JobRetry(self.store).retry(job_id, inventory.entries, relogin=relogin)
            count = None if requeued is None else self.queue.publish(_round_robin(job_id, requeued))
        if count is None:
            raise UsageError(f"no job {job_id!r} (unknown, or expired)")
        if interrupted:
            raise InterruptedAfterCommitError(
                f"interrupted, after {count} items of {job_id} were re-queued"
            )
        return RetryResult(job_id, count, [])

    def _inventory(self, pbxs_path: str | PathLike[str] | None) -> Inventory:
        """The inventory file's entries (none without a file), within the input limits."""
        if not pbxs_path:
            return Inventory()
        return read_inventory(pbxs_path, self.environ, limits=self.limits)

    def _store_items(
        self,
        writer: JobWriter,
        trunk_paths: Sequence[str | PathLike[str]],
        aliases: set[str],
        op: Op,
    ) -> dict[str, array[int]]:
        """Read the batch again and store its items; the item numbers to queue, per PBX."""
        by_pbx: dict[str, array[int]] = {}
        for row in read_batch(trunk_paths, aliases, self.limits):
            if not isinstance(row, BatchRow):
                continue  # header problems were refused by the first pass
            item_no = writer.add(_new_item(row, op))
            if row.request is not None:
                by_pbx.setdefault(row.pbx, array("L")).append(item_no)
        writer.finish()
        return by_pbx
