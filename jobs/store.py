"""The producer's and the CLI's side of the job store: create jobs, read status and items.

A job is a hash, its items one hash each, and its counts per state (and per PBX and state) two
more that only `jobs.transitions` moves once it is queued; every key expires `job_ttl_s` after the
job was created or last retried. A job still submitting without its submit's lease was cut short.
"""

from __future__ import annotations

import calendar
import json
import time
from collections.abc import Collection, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, TypedDict

import redis

from core import keys
from core.lua import lua
from jobs.job_writer import SUBMIT_LEASE_MS, WRITE_BATCH, JobWriter, new_job_id
from jobs.operations import JobKind
from jobs.records import iso_time, report_record
from jobs.states import State, is_final, outcome
from jobs.transitions import SUBMITTING

if TYPE_CHECKING:  # pydantic loads only for what reads entries: `status` starts sooner
    from trunks.pbx import PbxEntry

SUBMIT_DONE, SUBMIT_RUNNING, SUBMIT_CUT_SHORT = "done", "in progress", "cut short"


class JobSummary(TypedDict):
    """A job as `jobs --json` lists it."""

    job_id: str
    label: str
    created_at: str | None
    final: bool
    outcome: str | None  # "success", "partial" or "failed" once final
    counts: dict[str, int]  # items per state, every state present
    submit: str  # SUBMIT_DONE, SUBMIT_RUNNING or SUBMIT_CUT_SHORT
    kind: str  # rollout, plan, apply or rollback (jobs.operations.JobKind)
    source: str | None  # the plan an apply carries out, the job a rollback undoes


class JobStatus(JobSummary):
    """The `status --json` object of a job."""

    total: int
    pbxs: dict[str, dict[str, int]]  # per PBX alias, its items per state (states with some)


# KEYS: job, jobs index. ARGV: job id, ttl s, job key prefix. Claims a new job's id: 1, or 0 when
# another job has it; drops a few expired jobs from the index, so that it does not grow for ever.
CLAIM_JOB_ID_LUA = lua(__file__, "claim_job_id")


def decoded(value: bytes | str) -> str:
    """Text from Redis (bytes) or from a caller (str)."""
    return value.decode() if isinstance(value, bytes) else value


def job_created_at(job_id: str) -> float | None:
    """When a job was created, read from its id (20261126-101500-3f9a); None if it is no job id."""
    try:
        stamp = time.strptime(job_id[:15], "%Y%m%d-%H%M%S")
    except ValueError:
        return None
    return float(calendar.timegm(stamp))


def highest_item_number(job: Mapping[str, str] | None) -> int:
    """The highest item number of a job (beyond its total when a cut-short submit left gaps)."""
    if job is None:
        return 0
    return max(int(job.get("total", 0)), int(job.get("numbered", 0)))


class JobStore:
    """Jobs in Redis, for the producer and the CLI."""

    def __init__(self, client: redis.Redis, ttl_s: int) -> None:
        self.client = client
        self.ttl_s = ttl_s

    def stored_entries(self) -> dict[str, PbxEntry]:
        """Every PBX alias stored by earlier submits, with its latest entry."""
        from trunks.pbx import PbxEntry  # noqa: PLC0415 - see the import at the top

        raw = self.client.hgetall(keys.PBX_ENTRIES)
        return {decoded(alias): PbxEntry.from_stored(data) for alias, data in raw.items()}

    def store_entries(self, entries: Iterable[PbxEntry]) -> None:
        """Make these the latest entries of their aliases and set their devices' limits."""
        with self.client.pipeline(transaction=True) as pipe:
            for entry in entries:
                pipe.hset(keys.PBX_ENTRIES, entry.pbx, entry.stored_json())
                pipe.hset(
                    keys.device_limits(entry.base_url),
                    mapping={
                        "max_inflight": entry.max_inflight,
                        "min_interval_ms": entry.min_interval_ms,
                    },
                )
            pipe.execute()

    def create_job(
        self,
        label: str,
        files: list[str],
        entries: Mapping[str, PbxEntry],
        *,
        kind: JobKind = JobKind.ROLLOUT,
        source: str = "",
    ) -> JobWriter:
        """A new job with the inventory entries it delivers with; items follow via the writer.
        `kind`: what it is for; `source`: the plan or job an apply or rollback comes from."""
        now = time.time()
        job_id = new_job_id(now)
        # Claimed first: two submits in the same second may draw the same id.
        while not self.client.eval(
            CLAIM_JOB_ID_LUA, 2, keys.job(job_id), keys.JOBS_INDEX, job_id, self.ttl_s,
            keys.job(""),
        ):  # fmt: skip
            job_id = new_job_id(now)
        with self.client.pipeline(transaction=True) as pipe:
            pipe.hsetnx(keys.STORE, "created_at", repr(now))
            pipe.hset(
                keys.job(job_id),
                mapping={
                    "label": label, "created_at": iso_time(now), "files": json.dumps(files),
                    "total": 0, "kind": kind.value, "source": source,
                },
            )  # fmt: skip
            if entries:
                pipe.hset(
                    keys.job_pbxs(job_id),
                    mapping={alias: entry.stored_json() for alias, entry in entries.items()},
                )
            # Not final, whatever its items do, until the submit is done (JobWriter.done).
            pipe.hset(keys.job_counts(job_id), SUBMITTING, 1)
            for key in (keys.job(job_id), keys.job_pbxs(job_id), keys.job_counts(job_id)):
                pipe.expire(key, self.ttl_s)
            pipe.set(keys.job_submitter(job_id), 1, px=SUBMIT_LEASE_MS)
            pipe.zadd(keys.JOBS_INDEX, {job_id: now})
            pipe.execute()
        return JobWriter(self.client, job_id, self.ttl_s)

    def job(self, job_id: str) -> dict[str, str] | None:
        """The job's own fields, or None for an unknown (or expired) job."""
        raw = self.client.hgetall(keys.job(job_id))
        return {decoded(k): decoded(v) for k, v in raw.items()} if raw else None

    def why_missing(self, job_id: str) -> str:
        """Why a job is not in the store, as far as the store can tell: lost with Redis's data
        (it was created before this store's first job, or the store holds nothing), expired, or
        never there."""
        created = job_created_at(job_id)
        if created is None:
            return f"no job {job_id!r}: job ids look like 20261126-101500-3f9a"
        store_created = self.client.hget(keys.STORE, "created_at")
        age_s = time.time() - created
        if age_s > self.ttl_s:
            return f"no job {job_id!r}: it expired (jobs are kept {self.ttl_s // 86400} days)"
        if store_created is None or float(store_created) > created + 1:
            return (
                f"no job {job_id!r}: Redis lost it (its data was reset after the job was "
                "created: a Redis without persistence that restarted, or flushed?); submit the "
                "batch again, trunks already created show as 'exists'"
            )
        return f"no job {job_id!r} (unknown: check the id with 'trunkctl jobs')"

    def status(self, job_id: str) -> JobStatus | None:
        """The `status --json` object of a job."""
        job = self.job(job_id)
        if job is None:
            return None
        with self.client.pipeline(transaction=True) as pipe:
            pipe.hgetall(keys.job_counts(job_id))
            pipe.hgetall(keys.job_pbx_counts(job_id))
            pipe.exists(keys.job_submitter(job_id))
            raw_counts, raw_pbx_counts, leased = pipe.execute()
        submitting = int(raw_counts.pop(SUBMITTING.encode(), 0))
        submit = SUBMIT_DONE
        if submitting:
            submit = SUBMIT_RUNNING if leased else SUBMIT_CUT_SHORT
        counts = {state.value: 0 for state in State}
        counts.update({decoded(k): int(v) for k, v in raw_counts.items()})
        final = is_final(counts) and not submitting
        pbxs: dict[str, dict[str, int]] = {}
        for key, value in raw_pbx_counts.items():
            pbx, _, state = decoded(key).rpartition("|")
            if int(value):
                pbxs.setdefault(pbx, {})[state] = int(value)
        return {
            "job_id": job_id,
            "label": job.get("label", ""),
            "created_at": job.get("created_at"),
            "final": final,
            "outcome": outcome(counts) if final else None,
            "total": int(job.get("total", 0)),
            "counts": counts,
            "pbxs": dict(sorted(pbxs.items())),
            # "cut short": the submit stopped before it had stored and queued every item.
            "submit": submit,
            "kind": job.get("kind") or JobKind.ROLLOUT.value,
            "source": job.get("source") or None,
        }

    def items(self, job_id: str) -> Iterator[dict[str, Any]]:
        """The report record of every item, in input order, read in pipelined batches."""
        total = highest_item_number(self.job(job_id))
        for start in range(1, total + 1, WRITE_BATCH):
            with self.client.pipeline(transaction=False) as pipe:
                for item_no in range(start, min(start + WRITE_BATCH, total + 1)):
                    pipe.hgetall(keys.item(job_id, item_no))
                for raw in pipe.execute():
                    if raw:
                        yield report_record(raw)

    def item_page(
        self, job_id: str, offset: int, limit: int, *, states: Collection[str] = (), pbx: str = ""
    ) -> tuple[list[dict[str, Any]], int] | None:
        """The report records of the job's items from `offset` (0: the first) to `offset + limit`
        that are in one of `states` and of PBX `pbx` (each: any, when empty), in input order, and
        how many items match in all; None for an unknown job. A filter reads two fields of every
        item; only the page's items are read whole."""
        job = self.job(job_id)
        if job is None:
            return None
        numbered = highest_item_number(job)
        if not states and not pbx:
            numbers = range(offset + 1, min(offset + limit, numbered) + 1)
            return self._records(job_id, numbers), int(job.get("total", 0))
        page: list[int] = []
        total = 0
        for start in range(1, numbered + 1, WRITE_BATCH):
            numbers = range(start, min(start + WRITE_BATCH, numbered + 1))
            with self.client.pipeline(transaction=False) as pipe:
                for item_no in numbers:
                    pipe.hmget(keys.item(job_id, item_no), "state", "pbx")
                found = pipe.execute()
            for item_no, (state, item_pbx) in zip(numbers, found, strict=True):
                if state is None or (states and decoded(state) not in states):
                    continue
                if pbx and decoded(item_pbx or b"") != pbx:
                    continue
                if offset <= total < offset + limit:
                    page.append(item_no)
                total += 1
        return self._records(job_id, page), total

    def _records(self, job_id: str, numbers: Iterable[int]) -> list[dict[str, Any]]:
        """The report records of these items (those that exist), in one round trip."""
        with self.client.pipeline(transaction=False) as pipe:
            for item_no in numbers:
                pipe.hgetall(keys.item(job_id, item_no))
            return [report_record(raw) for raw in pipe.execute() if raw]

    def list_jobs(self, limit: int = 20) -> list[JobSummary]:
        """The most recent jobs, newest first, as `jobs --json` lists them."""
        newest = self.client.zrevrange(keys.JOBS_INDEX, 0, limit - 1)
        job_ids = [decoded(job_id) for job_id in newest]  # type: ignore[arg-type] # ids, no scores
        listed = []
        for job_id in job_ids:
            status = self.status(job_id)
            if status is None:
                self.client.zrem(keys.JOBS_INDEX, job_id)  # expired: forget it
                continue
            summary = JobSummary(
                job_id=status["job_id"],
                label=status["label"],
                created_at=status["created_at"],
                final=status["final"],
                outcome=status["outcome"],
                counts=status["counts"],
                submit=status["submit"],
                kind=status["kind"],
                source=status["source"],
            )
            listed.append(summary)
        return listed
