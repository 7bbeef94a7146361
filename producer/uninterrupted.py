"""Holding Ctrl-C (and SIGTERM) while a job is being stored and queued.

Stopped half way, a submit would leave a job whose counts promise items that were never stored or
never queued: it would never end. Signals that arrive meanwhile are collected instead, and the
caller stops once the block is done (see InterruptedAfterCommitError).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from core.errors import InterruptedByUserError

HELD_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class InterruptedAfterCommitError(InterruptedByUserError):
    """Raised after a held block that a signal arrived during: the work itself is complete."""


@contextmanager
def signals_held() -> Iterator[list[int]]:
    """Run the block to its end whatever arrives; yields the list of signals received meanwhile
    (empty if none), for the caller to act on after the block."""
    received: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield received  # only the main thread receives signals
        return

    def hold(signum: int, _frame: FrameType | None) -> None:
        received.append(signum)

    previous = {signum: signal.signal(signum, hold) for signum in HELD_SIGNALS}
    try:
        yield received
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
