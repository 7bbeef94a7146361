"""The progress display on a terminal: a bar and the counts per state, redrawn in place."""

from __future__ import annotations

from rich.console import Console, Group
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from jobs.states import ALL_STATES
from jobs.store import JobStatus
from trunkctl.output import STATE_COLOURS
from trunkctl.progress import done_count


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
