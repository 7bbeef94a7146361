"""The one atomic state change of an item: its hash, and the job's counts, together.

Counts stay right under concurrent workers and redelivered tasks because the old state is read and
the counters moved inside one Lua script: a transition that does not apply changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from core import keys
from jobs.states import FINAL_STATES, RETRIED_STATES, State

# The transition as a Lua function, for scripts that make one as part of a larger step.
# mode "advance": applies unless the item is final; "requeue": only to an item `retry` queues
# again (failed, cancelled).
# `fields` is a flat list: field, value, field, value...
# Reaching a final state also drops the item's lock: nothing is left to guard, and the task
# saves the round trip of unlocking. The item that makes its whole job final says so on the job's
# channel (keys.job_final_channel), so `status --wait` returns at once (if it may: a Redis ACL can
# forbid channels, and `status --wait` polls too).
_FINAL_TABLE = ", ".join(f"{state.value}=true" for state in FINAL_STATES)
_RETRIED_TABLE = ", ".join(f"{state.value}=true" for state in RETRIED_STATES)
# A counts field that is not a state: 1 while the job's submit is storing and queuing its items,
# so that no job is final before all of it is queued.
SUBMITTING = "submitting"
_OPEN = [state.value for state in State if state not in FINAL_STATES] + [SUBMITTING]
OPEN_COUNTS_LUA = ", ".join(f"'{name}'" for name in _OPEN)
# The Lua function that says whether a job's counts hash holds nothing open.
NOTHING_OPEN_FUNCTION_LUA = """
local function nothing_open(counts)
    for _, n in ipairs(redis.call('HMGET', counts, __OPEN__)) do
        if (tonumber(n) or 0) > 0 then return false end
    end
    return true
end
""".replace("__OPEN__", OPEN_COUNTS_LUA)
TRANSITION_FUNCTION_LUA = (
    NOTHING_OPEN_FUNCTION_LUA
    + """
local function transition(item, counts, pbx_counts, lock, mode, new, add_attempts, fields)
    local old = redis.call('HGET', item, 'state')
    if not old then return {0, ''} end
    local final = {__FINAL__}
    local retried = {__RETRIED__}
    if mode == 'advance' and final[old] then return {0, old} end
    if mode == 'requeue' and not retried[old] then return {0, old} end
    redis.call('HSET', item, 'state', new, unpack(fields))
    if tostring(add_attempts) ~= '0' then redis.call('HINCRBY', item, 'attempts', add_attempts) end
    if old ~= new then
        local pbx = redis.call('HGET', item, 'pbx')
        redis.call('HINCRBY', counts, old, -1)
        redis.call('HINCRBY', counts, new, 1)
        redis.call('HINCRBY', pbx_counts, pbx .. '|' .. old, -1)
        redis.call('HINCRBY', pbx_counts, pbx .. '|' .. new, 1)
    end
    if final[new] then
        redis.call('DEL', lock)
        if old ~= new and nothing_open(counts) then redis.pcall('PUBLISH', counts, 'final') end
    end
    return {1, old}
end
""".replace("__FINAL__", _FINAL_TABLE).replace("__RETRIED__", _RETRIED_TABLE)
)

# KEYS: item, job counts, job pbx-counts, item lock
# ARGV: mode, new state, attempts increment, field, value, field, value...
TRANSITION_LUA = (
    TRANSITION_FUNCTION_LUA
    + """
return transition(KEYS[1], KEYS[2], KEYS[3], KEYS[4], ARGV[1], ARGV[2], ARGV[3], {unpack(ARGV, 4)})
"""
)


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
