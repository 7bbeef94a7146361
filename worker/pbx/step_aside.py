"""When a task should step aside for its busy PBX rather than wait for a slot, and when it should
come back: the limiter's policy, as arithmetic on counts and times (no I/O, no clock of its own).

A task that steps aside is deferred (queued again in the broker), which frees its place in this
process for another PBX's task. It only helps if enough is already queued here to keep its PBX
busy, and either its wait would time out anyway or this process is short of room while other
PBXs' tasks seem to be waiting in the broker.
"""

from __future__ import annotations

from dataclasses import dataclass

# A device with this many local waiters per slot has enough queued to stay busy: under pressure,
# further tasks for it step aside.
ENOUGH_WAITERS_PER_SLOT = 4
# Stepping aside for room only helps if other PBXs' tasks are waiting in the broker. A sign of
# them: recent arrivals for PBXs this process was not working on. When (nearly) every task that
# arrives is for a PBX already at work here, the broker holds more of the same, and stepping aside
# would only churn: tasks wait here instead (the long-wait rule still holds). The share of such
# new arrivals is an average over recent ones, each weighing NEW_SHARE_WEIGHT: one new arrival
# alone lifts it over ROOM_FOR_NEW_SHARE, and about 20 arrivals without another let it fall back.
NEW_SHARE_WEIGHT = 0.05
ROOM_FOR_NEW_SHARE = 0.02


@dataclass
class StepAsidePolicy:
    """The process-wide part of the decision: its room for waiting tasks, and what arrives."""

    max_waiting: int  # past this many waiting tasks, the process is short of room
    waiting: int = 0  # tasks waiting for a slot, across every device
    new_share: float = 0.0  # of recent arrivals, those for a device not at work here

    def arrived(self, *, new_device: bool) -> None:
        """Count a task arriving for a slot; `new_device`: its device was idle here."""
        self.new_share += NEW_SHARE_WEIGHT * (new_device - self.new_share)

    def should_step_aside(
        self, queued: int, limit: int, per_request_s: float, wait_s: float
    ) -> bool:
        """Whether a task arriving behind `queued` local waiters of a device with `limit` slots
        should step aside: only when that keeps the device busy, and either its wait would
        outlast wait_s or this process is short of room for other PBXs' tasks."""
        if queued < ENOUGH_WAITERS_PER_SLOT * limit:
            return False
        if queued * per_request_s > wait_s:
            return True
        short_of_room = self.waiting >= self.max_waiting
        return short_of_room and self.new_share > ROOM_FOR_NEW_SHARE


def comeback_at(
    now: float,
    ahead: int,
    limit: int,
    per_request_s: float,
    previous_due: float,
    *,
    horizon_s: float = float("inf"),
) -> float:
    """When a task that steps aside now, with `ahead` waiters in front of it, is due back: once
    those are down to half of "enough", and one request's time after the task that stepped aside
    before it (`previous_due`), so that they return about when the device needs them, in order.

    Never later than `horizon_s` from now: a task is put off that long at most, and comes back
    then, early, to step aside again if need be. Its place in the line of returns is at the
    horizon, not where the backlog would put it: had the line gone on past the horizon, the tasks
    that come back early would leave holes in it, and the device would idle where they were due.
    """
    half = ENOUGH_WAITERS_PER_SLOT * limit / 2
    due = max(now + max(half, ahead - half) * per_request_s, previous_due + per_request_s)
    return min(due, now + horizon_s)
