"""Jobs made from another job's stored items: what `apply` and `rollback` share.

The source must be a finished job of the right kind, used once: a plan is applied once, a job
rolled back once (`retry` re-queues what failed of either). The new job delivers with the latest
stored inventory entries of its aliases (the source's where none is stored any more).
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass

from redis.exceptions import RedisError

from core import keys
from core.errors import TrunkctlError, UsageError
from jobs.job_writer import NewItem, cut_short_advice
from jobs.operations import JobKind
from jobs.queue import TaskQueue
from jobs.store import JobStore, decoded
from producer.submit import store_and_queue
from producer.uninterrupted import InterruptedAfterCommitError, signals_held
from trunks.pbx import PbxEntry

CLAIMING = "(being made)"


@dataclass(frozen=True, slots=True)
class DerivedJob:
    """What a derived job's submit did: the `submit --json` object."""

    job_id: str
    queued: int
    rejected: int

    def as_json(self) -> dict[str, object]:
        """The `submit --json` object."""
        return {"job_id": self.job_id, "queued": self.queued, "rejected": self.rejected}


def finished_source(store: JobStore, job_id: str, kinds: Collection[JobKind], what: str) -> str:
    """The kind of a job that may be the source of an apply or rollback; UsageError otherwise
    (unknown, of another kind, or not final yet)."""
    status = store.status(job_id)
    if status is None:
        raise UsageError(store.why_missing(job_id))
    if status["kind"] not in kinds:
        raise UsageError(f"{job_id} is a {status['kind']} job: {what}")
    if not status["final"]:
        raise UsageError(
            f"{job_id} is not final yet: wait for it ('trunkctl status {job_id} --wait')"
        )
    return status["kind"]


def entries_for(store: JobStore, source_id: str, aliases: Collection[str]) -> dict[str, PbxEntry]:
    """The inventory entries a derived job delivers with: the latest stored, else the source's."""
    stored = store.stored_entries()
    source_raw = store.client.hgetall(keys.job_pbxs(source_id))
    source = {decoded(alias): PbxEntry.from_stored(raw) for alias, raw in source_raw.items()}
    return {
        alias: stored.get(alias) or source[alias]
        for alias in aliases
        if alias in stored or alias in source
    }


def queue_derived(
    store: JobStore,
    queue: TaskQueue,
    source_id: str,
    items: list[NewItem],
    *,
    kind: JobKind,
    label: str,
    used_by: str,
) -> DerivedJob:
    """Store and queue a job made from `source_id`'s items, once: the source's `used_by` field
    names the job (a second apply of a plan, or rollback of a job, is refused)."""
    source_key = keys.job(source_id)
    if not store.client.hsetnx(source_key, used_by, CLAIMING):
        taken = decoded(store.client.hget(source_key, used_by) or b"")
        raise UsageError(f"{source_id} was {used_by.replace('_', ' ')} job {taken} already")
    try:
        files = json.loads(decoded(store.client.hget(source_key, "files") or b"[]"))
        entries = entries_for(store, source_id, {item.pbx for item in items})
        with signals_held() as interrupted:
            writer = store.create_job(label, files, entries, kind=kind, source=source_id)
            try:
                queued = store_and_queue(writer, queue, items)
                writer.done()
            except RedisError as exc:
                raise TrunkctlError(
                    f"lost Redis while storing job {writer.job_id} ({exc}); its submit is cut "
                    f"short: once Redis answers again, {cut_short_advice(writer.job_id)}"
                ) from None
            store.client.hset(source_key, used_by, writer.job_id)
    except BaseException:
        if store.client.hget(source_key, used_by) == CLAIMING.encode():
            store.client.hdel(source_key, used_by)
        raise
    if interrupted:
        raise InterruptedAfterCommitError(
            f"interrupted, after job {writer.job_id} was stored and its {queued} tasks queued"
        )
    rejected = sum(1 for item in items if item.errmsg)
    return DerivedJob(writer.job_id, queued, rejected)
