"""The one atomic state change of an item: its hash, and the job's counts, together.

Counts stay right under concurrent workers and redelivered tasks because the old state is read and
the counters moved inside one Lua script: a transition that does not apply changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from jobs import keys
from jobs.states import FINAL_STATES, State

# KEYS: item, job counts, job pbx-counts, item lock
# ARGV: mode, new state, attempts increment, field, value, field, value...
# mode "advance": applies unless the item is final; "requeue": applies only to a failed item.
# Reaching a final state also drops the item's lock: nothing is left to guard, and the task
# saves the round trip of unlocking.
_FINAL_TABLE = ", ".join(f"{state.value}=true" for state in FINAL_STATES)
TRANSITION_LUA = """
local old = redis.call('HGET', KEYS[1], 'state')
if not old then return {0, ''} end
local final = {__FINAL__}
local mode = ARGV[1]
if mode == 'advance' and final[old] then return {0, old} end
if mode == 'requeue' and old ~= 'failed' then return {0, old} end
local new = ARGV[2]
redis.call('HSET', KEYS[1], 'state', new, unpack(ARGV, 4))
if ARGV[3] ~= '0' then redis.call('HINCRBY', KEYS[1], 'attempts', ARGV[3]) end
if old ~= new then
    local pbx = redis.call('HGET', KEYS[1], 'pbx')
    redis.call('HINCRBY', KEYS[2], old, -1)
    redis.call('HINCRBY', KEYS[2], new, 1)
    redis.call('HINCRBY', KEYS[3], pbx .. '|' .. old, -1)
    redis.call('HINCRBY', KEYS[3], pbx .. '|' .. new, 1)
end
if final[new] then redis.call('DEL', KEYS[4]) end
return {1, old}
""".replace("__FINAL__", _FINAL_TABLE)


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
    return bool(int(result[0]))  # type: ignore[call-overload]
