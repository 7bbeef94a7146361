"""The producer's and the CLI's side of the job store: create jobs, read status and items.

A job is a hash, its items one hash each, counts per state (and per PBX and state) in two more
hashes that only `jobs.transitions` moves once the job is queued. Every key of a job expires
`job_ttl_s` after it was created or last retried.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import redis

from jobs import keys
from jobs.records import BODY_FIELD, report_record
from jobs.states import State, is_final, outcome
from trunks.pbx import PbxEntry

WRITE_BATCH = 1000


def new_job_id(now: float | None = None) -> str:
    """A job id that sorts by creation time and reads well: 20261126-101500-3f9a."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(now))
    return f"{stamp}-{secrets.token_hex(2)}"


@dataclass
class NewItem:
    """An item to store: where the row was, what it asks, and its first state."""

    file: str
    line: int
    pbx: str
    name: str
    type: str
    state: State
    body: dict[str, Any] | None = None
    errmsg: str = ""
    detail: Any = None

    def as_hash(self, now_iso: str) -> dict[Any, str | int]:
        """The item's Redis hash."""
        fields: dict[Any, str | int] = {
            "file": self.file, "line": self.line, "pbx": self.pbx, "name": self.name,
            "type": self.type, "state": self.state.value, "attempts": 0, "created_at": now_iso,
            "updated_at": now_iso,
        }  # fmt: skip
        if self.body is not None:
            fields[BODY_FIELD] = json.dumps(self.body, ensure_ascii=False)
        if self.errmsg:
            fields["errmsg"] = self.errmsg
            fields["finished_at"] = now_iso
        if self.detail is not None:
            fields["detail"] = json.dumps(self.detail, ensure_ascii=False)
        return fields


@dataclass
class JobWriter:
    """Writes one new job's items in pipelined batches and keeps its counts."""

    client: redis.Redis
    job_id: str
    ttl_s: int
    count: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    pbx_counts: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._pipe = self.client.pipeline(transaction=False)
        self._now = _iso(time.time())

    def add(self, item: NewItem) -> int:
        """Store an item; its number (1-based, in input order)."""
        self.count += 1
        key = keys.item(self.job_id, self.count)
        self._pipe.hset(key, mapping=item.as_hash(self._now))
        self._pipe.expire(key, self.ttl_s)
        self.counts[item.state.value] = self.counts.get(item.state.value, 0) + 1
        pbx_state = f"{item.pbx}|{item.state.value}"
        self.pbx_counts[pbx_state] = self.pbx_counts.get(pbx_state, 0) + 1
        if len(self._pipe) >= WRITE_BATCH * 2:
            self._pipe.execute()
        return self.count

    def finish(self) -> None:
        """Write what is buffered and the job's counts (before any task is queued)."""
        for key, mapping in (
            (keys.job_counts(self.job_id), self.counts),
            (keys.job_pbx_counts(self.job_id), self.pbx_counts),
        ):
            if mapping:
                self._pipe.hset(key, mapping=mapping)  # type: ignore[arg-type]
            self._pipe.expire(key, self.ttl_s)
        self._pipe.hset(keys.job(self.job_id), "total", self.count)
        self._pipe.execute()


def _decoded(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _iso(epoch_s: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch_s))


class JobStore:
    """Jobs in Redis, for the producer and the CLI."""

    def __init__(self, client: redis.Redis, ttl_s: int) -> None:
        self.client = client
        self.ttl_s = ttl_s

    def stored_entries(self) -> dict[str, PbxEntry]:
        """Every PBX alias stored by earlier submits, with its latest entry."""
        raw = self.client.hgetall(keys.PBX_ENTRIES)
        return {_decoded(alias): PbxEntry.from_stored(data) for alias, data in raw.items()}

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
        self, label: str, files: list[str], entries: Mapping[str, PbxEntry]
    ) -> JobWriter:
        """A new job with the inventory entries it delivers with; items follow via the writer."""
        job_id = new_job_id()
        now = time.time()
        with self.client.pipeline(transaction=True) as pipe:
            pipe.hset(
                keys.job(job_id),
                mapping={
                    "job_id": job_id, "label": label, "created_at": _iso(now),
                    "files": json.dumps(files), "total": 0,
                },
            )  # fmt: skip
            if entries:
                pipe.hset(
                    keys.job_pbxs(job_id),
                    mapping={alias: entry.stored_json() for alias, entry in entries.items()},
                )
            for key in (keys.job(job_id), keys.job_pbxs(job_id)):
                pipe.expire(key, self.ttl_s)
            pipe.zadd(keys.JOBS_INDEX, {job_id: now})
            pipe.execute()
        return JobWriter(self.client, job_id, self.ttl_s)

    def job(self, job_id: str) -> dict[str, str] | None:
        """The job's own fields, or None for an unknown (or expired) job."""
        raw = self.client.hgetall(keys.job(job_id))
        return {_decoded(k): _decoded(v) for k, v in raw.items()} if raw else None

    def status(self, job_id: str) -> dict[str, Any] | None:
        """The `status --json` object of a job."""
        job = self.job(job_id)
        if job is None:
            return None
        with self.client.pipeline(transaction=True) as pipe:
            pipe.hgetall(keys.job_counts(job_id))
            pipe.hgetall(keys.job_pbx_counts(job_id))
            raw_counts, raw_pbx_counts = pipe.execute()
        counts = {state.value: 0 for state in State}
        counts.update({_decoded(k): int(v) for k, v in raw_counts.items()})
        pbxs: dict[str, dict[str, int]] = {}
        for key, value in raw_pbx_counts.items():
            pbx, _, state = _decoded(key).rpartition("|")
            if int(value):
                pbxs.setdefault(pbx, {})[state] = int(value)
        return {
            "job_id": job_id,
            "label": job.get("label", ""),
            "created_at": job.get("created_at"),
            "final": is_final(counts),
            "outcome": outcome(counts),
            "total": int(job.get("total", 0)),
            "counts": counts,
            "pbxs": dict(sorted(pbxs.items())),
        }

    def items(self, job_id: str) -> Iterator[dict[str, Any]]:
        """The report record of every item, in input order, read in pipelined batches."""
        total = int(self.client.hget(keys.job(job_id), "total") or 0)
        for start in range(1, total + 1, WRITE_BATCH):
            with self.client.pipeline(transaction=False) as pipe:
                for item_no in range(start, min(start + WRITE_BATCH, total + 1)):
                    pipe.hgetall(keys.item(job_id, item_no))
                for raw in pipe.execute():
                    if raw:
                        yield report_record(raw)
