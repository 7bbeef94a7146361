"""The one atomic state change of an item: its hash, and the job's counts, together.

Counts stay right under concurrent workers and redelivered tasks because the old state is read and
the counters moved inside one Lua script: a transition that does not apply changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from core import keys
from core.lua import lua
from jobs.states import State

# A counts field that is not a state: 1 while the job's submit is storing and queuing its items,
# so that no job is final before all of it is queued (lua/nothing_open.lua).
SUBMITTING = "submitting"

# KEYS: item, job counts, job pbx-counts, item lock
# ARGV: mode, new state, attempts increment, field, value, field, value...
TRANSITION_LUA = lua(__file__, "transition_item")


@dataclass(frozen=True, slots=True)
class Transition:
    """A requested state change of one item, with the fields written along with it."""

    job_id: str
    item_no: int
    state: State
    fields: Mapping[str, str | int]
    add_attempts: int = 0
    requeue: bool = False

    def keys(self) -> list[str]:
        """KEYS of TRANSITION_LUA."""
        return [
            keys.item(self.job_id, self.item_no),
            keys.job_counts(self.job_id),
            keys.job_pbx_counts(self.job_id),
            keys.item_lock(self.job_id, self.item_no),
        ]

    def args(self) -> list[str | int]:
        """ARGV of TRANSITION_LUA."""
        flat: list[str | int] = []
        for name, value in self.fields.items():
            flat.extend((name, value))
        mode = "requeue" if self.requeue else "advance"
        return [mode, self.state.value, self.add_attempts, *flat]


def applied(result: list[object]) -> bool:
    """Whether TRANSITION_LUA changed the item."""
    return bool(int(result[0]))  # type: ignore[call-overload] # Lua's integer reply
