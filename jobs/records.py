"""Items as stored in Redis hashes, and the public report record made from them.

Glossary: each of these words means this, and only this, in jobs/, worker/ and producer/.
- run: one execution of an item's task: claim, at most one create (two when the PBX answers
  10004 and the request is replayed), outcome.
- attempt: a create request that may have reached the PBX (`attempts`; one that surely did not
  leave is taken back).
- try: a run that met a fault at the PBX (`tries`), counted toward the retry bound.
- deferral: a run that stepped aside for a busy PBX (`deferrals`).
- round: the runs since the item was last queued by `retry` (or since its submit, for the first);
  `attempts_at_retry` is where the round's attempts start (`attempts_this_round`).
- rollout: what `trunkctl run` does (submit, start workers, watch); never a "run" in the code.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jobs.operations import OLD_VALUES_FIELD, OP_DATA_FIELD, OP_FIELD, WRITE_SENT_FIELD, Op
from jobs.states import State

REPORT_FIELDS = (
    "file", "line", "pbx", "name", "type", "state", "trunk_id", "attempts", "errcode", "errmsg",
    "detail", "finished_at",
)  # fmt: skip
# Never copied into a report, a status or a log line: it holds the trunk password.
BODY_FIELD = "body"


def iso_time(epoch_s: float | None = None) -> str:
    """A time (now by default) as UTC ISO 8601 with seconds: 2026-11-26T10:15:00Z."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch_s))


def _text(raw: Mapping[bytes | str, bytes | str], name: str) -> str:
    value = raw.get(name.encode(), raw.get(name, b""))
    return value.decode() if isinstance(value, bytes) else str(value)


def _int_or_none(text: str) -> int | None:
    return int(text) if text else None


def _json_or_none(text: str) -> Any:
    return json.loads(text) if text else None


@dataclass(frozen=True, slots=True)
class Item:
    """One trunk of a job as the worker sees it."""

    job_id: str
    item_no: int
    pbx: str
    name: str
    state: State
    attempts: int
    maybe_sent: bool  # a create of this job may have reached the PBX
    taken_before: bool  # the PBX said the name was taken before any create of this job
    first_try_at: float | None
    tries: int
    deferrals: int
    attempts_at_retry: int
    errcode: int | None
    errmsg: str
    body: dict[str, Any] | None
    # What the item asks of its PBX, and what that operation needs (see jobs.operations).
    op: Op = Op.CREATE
    op_data: dict[str, Any] | None = None
    write_sent: bool = False  # an update or delete of it may have reached the PBX
    old_values: dict[str, Any] | None = None  # what its update replaced (kept for a rollback)

    @property
    def attempts_this_round(self) -> int:
        """Attempts since the item was last queued by `retry`."""
        return self.attempts - self.attempts_at_retry

    @classmethod
    def from_hash(cls, job_id: str, item_no: int, raw: Mapping[Any, Any]) -> Item:
        """An item read with HGETALL."""
        body = _text(raw, BODY_FIELD)
        first_try = _text(raw, "first_try_at")
        return cls(
            job_id=job_id,
            item_no=item_no,
            pbx=_text(raw, "pbx"),
            name=_text(raw, "name"),
            state=State(_text(raw, "state")),
            attempts=int(_text(raw, "attempts") or 0),
            maybe_sent=_text(raw, "maybe_sent") == "1",
            taken_before=_text(raw, "taken_before") == "1",
            first_try_at=float(first_try) if first_try else None,
            tries=int(_text(raw, "tries") or 0),
            deferrals=int(_text(raw, "deferrals") or 0),
            attempts_at_retry=int(_text(raw, "attempts_at_retry") or 0),
            errcode=_int_or_none(_text(raw, "errcode")),
            errmsg=_text(raw, "errmsg"),
            body=json.loads(body) if body else None,
            op=Op(_text(raw, OP_FIELD) or Op.CREATE),
            op_data=_json_or_none(_text(raw, OP_DATA_FIELD)),
            write_sent=_text(raw, WRITE_SENT_FIELD) == "1",
            old_values=_json_or_none(_text(raw, OLD_VALUES_FIELD)),
        )


def report_record(raw: Mapping[Any, Any]) -> dict[str, Any]:
    """The public record of an item: the report's columns, never the body."""
    record: dict[str, Any] = {name: _text(raw, name) for name in REPORT_FIELDS}
    record["line"] = int(record["line"] or 0)
    record["attempts"] = int(record["attempts"] or 0)
    record["trunk_id"] = _int_or_none(record["trunk_id"])
    record["errcode"] = _int_or_none(record["errcode"])
    for name in ("errmsg", "detail", "finished_at"):
        record[name] = record[name] or None
    if record["detail"]:
        record["detail"] = json.loads(record["detail"])
    return record
