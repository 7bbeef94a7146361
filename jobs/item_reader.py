"""A job's items as stored, secrets included, for the jobs derived from it (apply, rollback).

Never for output: a stored item holds the request body and the values an update replaced.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from core import keys
from jobs.job_writer import WRITE_BATCH, NewItem
from jobs.operations import OLD_VALUES_FIELD, SEEN_FIELD
from jobs.records import BODY_FIELD
from jobs.states import State
from jobs.store import JobStore, decoded, highest_item_number


@dataclass(frozen=True, slots=True)
class StoredItem:
    """One item of a job: where its row was, how it ended, and what it kept."""

    item_no: int
    file: str
    line: int
    pbx: str
    name: str
    type: str
    state: str
    trunk_id: int | None
    errmsg: str
    detail: Any
    body: dict[str, Any] | None
    old_values: dict[str, Any] | None  # what its update replaced
    seen: dict[str, Any] | None  # what its plan read found

    @classmethod
    def from_hash(cls, item_no: int, raw: Mapping[str, str]) -> StoredItem:
        """An item from its decoded hash."""

        def loaded(name: str) -> Any:
            text = raw.get(name, "")
            return json.loads(text) if text else None

        trunk_id = raw.get("trunk_id", "")
        return cls(
            item_no=item_no, file=raw.get("file", ""), line=int(raw.get("line") or 0),
            pbx=raw.get("pbx", ""), name=raw.get("name", ""), type=raw.get("type", ""),
            state=raw.get("state", ""), trunk_id=int(trunk_id) if trunk_id else None,
            errmsg=raw.get("errmsg", ""), detail=loaded("detail"), body=loaded(BODY_FIELD),
            old_values=loaded(OLD_VALUES_FIELD), seen=loaded(SEEN_FIELD),
        )  # fmt: skip


def located_item(item: StoredItem) -> NewItem:
    """A queued item of a new job for the same row (same file, line, PBX, name and type)."""
    return NewItem(
        file=item.file, line=item.line, pbx=item.pbx, name=item.name, type=item.type,
        state=State.QUEUED,
    )  # fmt: skip


def stored_items(store: JobStore, job_id: str) -> Iterator[StoredItem]:
    """Every item of the job in input order, read in pipelined batches."""
    total = highest_item_number(store.job(job_id))
    for start in range(1, total + 1, WRITE_BATCH):
        numbers = range(start, min(start + WRITE_BATCH, total + 1))
        with store.client.pipeline(transaction=False) as pipe:
            for item_no in numbers:
                pipe.hgetall(keys.item(job_id, item_no))
            found = pipe.execute()
        for item_no, raw in zip(numbers, found, strict=True):
            if raw:
                text = {decoded(name): decoded(value) for name, value in raw.items()}
                yield StoredItem.from_hash(item_no, text)
