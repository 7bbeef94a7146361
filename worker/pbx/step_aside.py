"""When a task should step aside for its busy PBX rather than wait for a slot, and when it should
come back: the limiter's policy, as arithmetic on counts and times (no I/O, no clock of its own).

A task that steps aside is deferred (queued again), freeing its place here for another PBX's
task: only worth it when enough is queued here to keep its PBX busy.
"""

from __future__ import annotations

from dataclasses import dataclass

# A device with this many local waiters per slot has enough queued to stay busy.
ENOUGH_WAITERS_PER_SLOT = 4
# Stepping aside for room only helps if other PBXs' tasks wait in the broker, as recent arrivals
# for idle devices suggest; when none arrive it would only churn. One such arrival lifts this
# moving average over ROOM_FOR_NEW_SHARE; about 20 others let it fall back.
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
        """Whether a task behind `queued` local waiters of a device with `limit` slots steps aside:
        the device stays busy, and its wait would outlast wait_s or the process is short of room."""
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
    """When a task that steps aside now, with `ahead` waiters in front, is due back: once those
    are down to half of "enough", one request's time after the one before (`previous_due`), so
    that they return in order as the device needs them. At most `horizon_s` from now, and its
    place in line is there too: a line stretched past it would idle the device in its holes.
    """
    half = ENOUGH_WAITERS_PER_SLOT * limit / 2
    due = max(now + max(half, ahead - half) * per_request_s, previous_due + per_request_s)
    return min(due, now + horizon_s)
