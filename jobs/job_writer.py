"""Writing a new job's items: numbered in input order, in pipelined batches, under the submit's
lease on the job (see jobs.store for what a job is and how a cut-short submit is mended)."""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import redis

from core import keys
from core.errors import TrunkctlError
from core.lua import lua
from jobs.operations import OP_DATA_FIELD, OP_FIELD, Op
from jobs.records import BODY_FIELD, iso_time
from jobs.states import State

WRITE_BATCH = 1000
# A submit renews its lease on the job with every batch it writes; a job whose submit holds no
# lease any more, and never said it was done, was cut short (killed, or its Redis connection lost).
SUBMIT_LEASE_MS = 60_000

# KEYS: job counts, submitter lease. Ends a job's submit; says "final" if nothing is left to do.
SUBMIT_DONE_LUA = lua(__file__, "submit_done")


class SubmitLeaseLostError(TrunkctlError):
    """Raised when a submit finds its lease on the job expired: it must not write any more."""


def cut_short_advice(job_id: str) -> str:
    """What to do about a job whose submit was cut short (killed, stalled, or its Redis lost)."""
    return (
        f"'trunkctl retry {job_id}' makes the job whole with the trunks it stored and queues "
        "them; submit the batch again for the others (trunks already created show as 'exists')"
    )


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
    op: Op = Op.CREATE
    op_data: dict[str, Any] | None = None  # what the operation needs (may hold passwords)

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
        if self.op is not Op.CREATE:
            # The claim counts a create attempt for an item it sees no reason to look up first
            # (jobs.item_store): the other operations look their trunk up themselves.
            fields[OP_FIELD] = self.op.value
            fields["taken_before"] = 1
        if self.op_data is not None:
            fields[OP_DATA_FIELD] = json.dumps(self.op_data, ensure_ascii=False)
        return fields


@dataclass
class JobWriter:
    """Writes one new job's items in pipelined batches and keeps its counts.

    Streaming: `add` each item (numbered in order), then `finish`. Known in advance: `tally` every
    item, `finish` (the counts are written before any task is queued), then `put` items by
    number and `flush`, a chunk at a time.
    """

    client: redis.Redis
    job_id: str
    ttl_s: int
    count: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    pbx_counts: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._pipe = self.client.pipeline(transaction=False)
        self._now = iso_time()

    def add(self, item: NewItem) -> int:
        """Count and store an item; its number (1-based, in input order)."""
        self.tally(item)
        self.put(self.count, item)
        return self.count

    def tally(self, item: NewItem) -> None:
        """Count an item (the next number) without storing it yet."""
        self.count += 1
        self.counts[item.state.value] = self.counts.get(item.state.value, 0) + 1
        pbx_state = f"{item.pbx}|{item.state.value}"
        self.pbx_counts[pbx_state] = self.pbx_counts.get(pbx_state, 0) + 1

    def put(self, item_no: int, item: NewItem) -> None:
        """Store an item under its number (buffered: see flush)."""
        key = keys.item(self.job_id, item_no)
        self._pipe.hset(key, mapping=item.as_hash(self._now))
        self._pipe.expire(key, self.ttl_s)
        if len(self._pipe) >= WRITE_BATCH * 2:
            self.flush()

    def flush(self) -> None:
        """Write what is buffered, once the submit's lease on the job is renewed."""
        if not self.client.pexpire(keys.job_submitter(self.job_id), SUBMIT_LEASE_MS):
            # Stalled past its lease (a laptop asleep, Redis out of reach): the job counts as cut
            # short, and `retry` may be mending it already. Writing more would undo that.
            raise SubmitLeaseLostError(
                f"the submit of {self.job_id} stalled for over {SUBMIT_LEASE_MS // 1000} s and "
                f"stopped, its job cut short: {cut_short_advice(self.job_id)}"
            )
        # The highest number so far: a job cut short is counted again up to it (jobs.job_retry).
        self._pipe.hset(keys.job(self.job_id), "numbered", self.count)
        self._pipe.execute()

    def finish(self) -> None:
        """Write what is buffered, the job's counts and its total (before any task is queued)."""
        for key, mapping in (
            (keys.job_counts(self.job_id), self.counts),
            (keys.job_pbx_counts(self.job_id), self.pbx_counts),
        ):
            if mapping:
                self._pipe.hset(key, mapping=mapping)  # type: ignore[arg-type] # redis-py's Mapping key type
            self._pipe.expire(key, self.ttl_s)
        self._pipe.hset(keys.job(self.job_id), "total", self.count)
        self.flush()

    def done(self) -> None:
        """Say the submit is done: every item is stored and every task queued."""
        done = self.client.register_script(SUBMIT_DONE_LUA)
        done(keys=[keys.job_counts(self.job_id), keys.job_submitter(self.job_id)])
