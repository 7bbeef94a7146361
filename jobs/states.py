"""Item states, job outcome, and the rules between them (pure logic)."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum


class State(StrEnum):
    """Where one trunk of a job stands."""

    QUEUED = "queued"
    RUNNING = "running"
    RETRYING = "retrying"
    SUCCEEDED = "succeeded"
    EXISTS = "exists"
    UPDATED = "updated"
    FAILED = "failed"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


FINAL_STATES = frozenset(
    {State.SUCCEEDED, State.EXISTS, State.UPDATED, State.FAILED, State.REJECTED, State.CANCELLED}
)
GOOD_STATES = frozenset({State.SUCCEEDED, State.EXISTS, State.UPDATED})
# What `retry` queues again.
RETRIED_STATES = frozenset({State.FAILED, State.CANCELLED})
ALL_STATES = tuple(State)


def is_final(counts: Mapping[str, int]) -> bool:
    """A job is final when every item is."""
    return all(counts.get(state, 0) <= 0 for state in State if state not in FINAL_STATES)


def outcome(counts: Mapping[str, int]) -> str | None:
    """success, partial or failed for a final job; None while items are pending."""
    if not is_final(counts):
        return None
    good = sum(counts.get(state, 0) for state in GOOD_STATES)
    total = sum(counts.get(state, 0) for state in State)
    if good == total:
        return "success"
    return "failed" if good == 0 else "partial"
