"""A job's progress while someone waits for it: redrawn in place on a terminal, lines otherwise."""

from __future__ import annotations

import sys
import time
from typing import Protocol

import click

from jobs.states import ALL_STATES, FINAL_STATES
from jobs.store import JobStatus

# Off a terminal, a line at most this often (and when the job ends).
PLAIN_EVERY_S = 10.0


def done_count(status: JobStatus) -> int:
    """How many of the job's items are final."""
    return sum(status["counts"].get(state, 0) for state in FINAL_STATES)


def counts_text(status: JobStatus) -> str:
    """`succeeded 12, failed 1, running 3`: the states that have items."""
    counts = status["counts"]
    return ", ".join(f"{state} {counts[state]}" for state in ALL_STATES if counts.get(state))


class ProgressView(Protocol):
    """Shows a job's status as it changes; `close` leaves the last one on the screen."""

    poll_s: float  # how often the job is read again for it (besides its final announcement)

    def update(self, status: JobStatus) -> None: ...

    def note(self, message: str) -> None: ...

    def close(self) -> None: ...


class PlainProgress:
    """A line now and then, for logs and pipes (no cursor moves, no colours)."""

    poll_s = 1.0

    def __init__(self) -> None:
        self._printed_at = 0.0
        self._last = ""

    def update(self, status: JobStatus) -> None:
        line = f"progress: {done_count(status)}/{status['total']} final ({counts_text(status)})"
        now = time.monotonic()
        if line != self._last and (now - self._printed_at >= PLAIN_EVERY_S or status["final"]):
            click.echo(line, err=True)
            self._printed_at, self._last = now, line

    def note(self, message: str) -> None:
        click.echo(message, err=True)

    def close(self) -> None:
        """Nothing to clean up."""


class QuietProgress:
    """No progress at all (`--json`); notes still reach stderr."""

    poll_s = 1.0

    def update(self, status: JobStatus) -> None:
        """Nothing shown."""

    def note(self, message: str) -> None:
        click.echo(message, err=True)

    def close(self) -> None:
        """Nothing to clean up."""


def progress_view(*, quiet: bool) -> ProgressView:
    """The view for where stderr goes: live on a terminal, plain lines elsewhere."""
    if quiet:
        return QuietProgress()
    if not sys.stderr.isatty():
        return PlainProgress()
    from trunkctl.live_progress import LiveProgress  # noqa: PLC0415 - rich only where it draws

    return LiveProgress()
