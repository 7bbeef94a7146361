"""Where each (PBX, trunk name) pair of a batch first appeared, kept on disk.

Duplicate detection needs every name of the batch. The first names live in a dict (fast); past
MEMORY_LIMIT pairs they move to a temporary SQLite file, so validating a million rows uses the
same memory as validating a hundred thousand.
"""

from __future__ import annotations

import sqlite3
from types import TracebackType

MEMORY_LIMIT = 10_000


class NameIndex:
    """First occurrence (file number, line) of each (pbx, name) pair; files are numbered by their
    place in the batch, so a file given twice is two files."""

    def __init__(self, memory_limit: int | None = None) -> None:
        self._memory: dict[tuple[str, str], tuple[int, int]] = {}
        self._memory_limit = MEMORY_LIMIT if memory_limit is None else memory_limit
        self._db: sqlite3.Connection | None = None

    def _spill(self) -> sqlite3.Connection:
        # "" is SQLite's private temporary database: on disk, deleted on close.
        db = sqlite3.connect("", isolation_level=None)
        db.executescript(
            """
            PRAGMA journal_mode = OFF;
            PRAGMA synchronous = OFF;
            PRAGMA cache_size = -2048;
            CREATE TABLE names (
                pbx TEXT NOT NULL, name TEXT NOT NULL, file INTEGER NOT NULL, line INTEGER NOT NULL,
                PRIMARY KEY (pbx, name)
            ) WITHOUT ROWID;
            BEGIN;
            """
        )
        db.executemany(
            "INSERT INTO names VALUES (?, ?, ?, ?)",
            ((pbx, name, file_no, line) for (pbx, name), (file_no, line) in self._memory.items()),
        )
        self._memory.clear()
        return db

    def first_seen(self, pbx: str, name: str, file_no: int, line: int) -> tuple[int, int] | None:
        """Record this occurrence; return the earlier one's (file number, line) if there was one."""
        if self._db is None:
            earlier = self._memory.get((pbx, name))
            if earlier is not None:
                return earlier
            self._memory[(pbx, name)] = (file_no, line)
            if len(self._memory) >= self._memory_limit:
                self._db = self._spill()
            return None
        cursor = self._db.execute(
            "INSERT OR IGNORE INTO names VALUES (?, ?, ?, ?)", (pbx, name, file_no, line)
        )
        if cursor.rowcount:
            return None
        earlier_file, earlier_line = self._db.execute(
            "SELECT file, line FROM names WHERE pbx = ? AND name = ?", (pbx, name)
        ).fetchone()
        return int(earlier_file), int(earlier_line)

    def close(self) -> None:
        """Drop the index and its file."""
        self._memory.clear()
        if self._db is not None:
            self._db.close()

    def __enter__(self) -> NameIndex:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
