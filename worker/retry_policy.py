"""Whether an item whose run met a transient fault runs again, and when: pure arithmetic on its
counts and times (no I/O; the random source is a parameter).

Bounded by the round's attempts and by the item's tries (both `max_attempts`: a sick PBX is not
asked again and again), and by the time since the first try (`retry_window_s`). A run that asked
nothing of the PBX (unreachable, its tokens all out, a token expired each time) counts no try.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from core.settings import Settings
from jobs.records import Item
from worker.backoff import backoff_s, wait_out_s
from worker.pbx.errors import PbxError, PbxTokenCapError, PbxUnreachableError


@dataclass(frozen=True, slots=True)
class RetryDecision:
    """Fail now with `give_up` as the reason, or run again in `delay_s` having made `tries`."""

    give_up: str | None
    tries: int
    delay_s: float


def counted(item: Item, count: int, what: str = "attempts") -> str:
    """'N attempts', saying so when they are those of a round after a `retry` (the report's
    `attempts` counts every round's)."""
    return f"{count} {what}" + (" since the last retry" if item.attempts_at_retry else "")


def decide(
    item: Item,
    fault: PbxError,
    *,
    attempts: int,
    elapsed_s: float,
    settings: Settings,
    rand: Callable[[], float] = random.random,
) -> RetryDecision:
    """What becomes of an item after a run that met `fault`, having made `attempts` attempts
    this round, `elapsed_s` after its first try."""
    tries = item.tries + (1 if fault.tried_the_pbx else 0)
    if isinstance(fault, PbxTokenCapError | PbxUnreachableError):  # lasting: waited out
        delay_s = wait_out_s(cap_s=settings.backoff_max_s, rand=rand)
    else:
        delay_s = backoff_s(
            item.tries + 1, base_s=settings.backoff_base_s, cap_s=settings.backoff_max_s, rand=rand
        )
    give_up = None
    if attempts >= settings.max_attempts:
        give_up = f"gave up after {counted(item, attempts)}: {fault}"
    elif tries >= settings.max_attempts and fault.tried_the_pbx:
        give_up = f"gave up after {counted(item, tries, 'failed tries')}: {fault}"
    elif elapsed_s + delay_s > settings.retry_window_s:
        give_up = f"gave up after {elapsed_s:.0f} s of retries: {fault}"
    return RetryDecision(give_up, tries, delay_s)
