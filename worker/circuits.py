"""Credential circuits this process opened, for the tasks that were already past their claim.

The claim reads a job's open circuits from Redis, so a task claimed after a PBX refused the
credentials fails at once. Tasks claimed before it (waiting for the PBX's slot, say) would each
still send their create; this memory stops them before their request leaves. Only tasks claimed
before the circuit was recorded are stopped, so items that `retry` queues again (it closes the
job's circuits in Redis) are tried again.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from jobs.item_store import CircuitReason
from worker.pbx.errors import CircuitOpenError


class OpenedCircuits:
    """(job id, PBX alias) -> when this process recorded the circuit open, and why."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._opened: dict[tuple[str, str], tuple[float, CircuitReason]] = {}

    def record(self, job_id: str, pbx: str, reason: CircuitReason) -> None:
        """Note a circuit this process has just stored in Redis (`reason`: errcode, errmsg)."""
        self._opened[(job_id, pbx)] = (self._clock(), reason)

    def check(self, job_id: str, pbx: str, claimed_at: float) -> None:
        """Raise CircuitOpenError if the circuit opened after the item was claimed."""
        opened = self._opened.get((job_id, pbx))
        if opened is not None and claimed_at < opened[0]:
            raise CircuitOpenError.from_reason(opened[1])
