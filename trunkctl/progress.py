"""A job's progress while someone waits for it: redrawn in place on a terminal, lines otherwise."""

from __future__ import annotations

import time
from typing import Protocol

import click
from rich.console import Console, Group
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from jobs.states import ALL_STATES, FINAL_STATES
from jobs.store import JobStatus
from trunkctl.output import STATE_COLOURS

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


class LiveProgress:
    """A bar and the counts per state, fitted to the terminal's width and redrawn in place."""

    poll_s = 0.1

    def __init__(self) -> None:
        self._console = Console(stderr=True)
        self._live = Live(console=self._console, auto_refresh=False, transient=False)
        self._live.start()

    def update(self, status: JobStatus) -> None:
        total, done = status["total"], done_count(status)
        counts = Text()
        for state in ALL_STATES:
            if status["counts"].get(state):
                counts.append(f"{state} {status['counts'][state]}  ", STATE_COLOURS.get(state, ""))
        line = Table.grid(expand=True, padding=(0, 1))
        line.add_column(ratio=1)
        line.add_column(no_wrap=True, justify="right")
        line.add_row(ProgressBar(total=total or 1, completed=done), f"{done}/{total} final")
        self._live.update(Group(line, counts), refresh=True)

    def note(self, message: str) -> None:
        self._console.print(message, markup=False, highlight=False)

    def close(self) -> None:
        self._live.stop()


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
    return LiveProgress() if Console(stderr=True).is_terminal else PlainProgress()
