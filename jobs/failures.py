"""A job's failures grouped by PBX and reason, for the summary after a rollout (pure logic)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from jobs.states import State

FAILURE_STATES = frozenset({State.FAILED.value, State.REJECTED.value})
EXAMPLE_NAMES = 3


@dataclass
class FailureGroup:
    """Items of one PBX that ended in the same state for the same reason."""

    pbx: str
    state: str
    errcode: int | None
    reason: str
    count: int = 0
    names: list[str] = field(default_factory=list)  # the first few, as examples


def failure_groups(records: Iterable[Mapping[str, Any]]) -> list[FailureGroup]:
    """The failed and rejected records grouped by PBX, state and reason, largest group first."""
    groups: dict[tuple[str, str, int | None, str], FailureGroup] = {}
    for record in records:
        if record["state"] not in FAILURE_STATES:
            continue
        reason = record.get("errmsg") or "no reason recorded"
        key = (record["pbx"], record["state"], record.get("errcode"), reason)
        group = groups.setdefault(key, FailureGroup(*key))
        group.count += 1
        if len(group.names) < EXAMPLE_NAMES:
            group.names.append(record["name"])
    return sorted(groups.values(), key=lambda group: (-group.count, group.pbx, group.reason))
