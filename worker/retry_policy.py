"""Whether an item whose run met a transient fault runs again, and when: pure arithmetic on its
counts and times (no I/O; the random source is a parameter).

Bounded three ways: the create requests sent since the last `retry` (`max_attempts`), the runs
that met a transient fault of any kind, a lookup or a login as much as a create (`max_attempts`
too: a sick PBX is not asked again and again), and the time since the first try (`retry_window_s`).
A PBX whose tokens are all out is waited out instead: no try is counted, within the window.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from jobs.records import Item
from trunkctl.settings import Settings
from worker.backoff import backoff_s, wait_out_s
from worker.pbx.errors import PbxError, PbxTokenCapError


@dataclass(frozen=True, slots=True)
class RetryDecision:
    """Fail now with `give_up` as the reason, or run again in `delay_s` having made `tries`."""

    give_up: str | None
    tries: int
    delay_s: float


def counted(item: Item, count: int, what: str = "attempts") -> str:
    """'N attempts', saying so when they are those since `retry` (the report's `attempts` counts
    every run)."""
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
    """What becomes of an item after a run that met `fault`, having sent `attempts` creates
    since the last retry, `elapsed_s` after its first try."""
    waiting = isinstance(fault, PbxTokenCapError)
    if waiting:
        tries, delay_s = item.tries, wait_out_s(cap_s=settings.backoff_max_s, rand=rand)
    else:
        tries = item.tries + 1
        delay_s = backoff_s(
            tries, base_s=settings.backoff_base_s, cap_s=settings.backoff_max_s, rand=rand
        )
    give_up = None
    if attempts >= settings.max_attempts:
        give_up = f"gave up after {counted(item, attempts)}: {fault}"
    elif tries >= settings.max_attempts and not waiting:
        give_up = f"gave up after {counted(item, tries, 'failed tries')}: {fault}"
    elif elapsed_s + delay_s > settings.retry_window_s:
        give_up = f"gave up after {elapsed_s:.0f} s of retries: {fault}"
    return RetryDecision(give_up, tries, delay_s)
