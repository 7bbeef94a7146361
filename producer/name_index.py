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
    """First occurrence (file, line) of each (pbx, name) pair."""

    def __init__(self, memory_limit: int = MEMORY_LIMIT) -> None:
        self._memory: dict[tuple[str, str], tuple[int, int]] = {}
        self._memory_limit = memory_limit
        self._db: sqlite3.Connection | None = None
        self._file_ids: dict[str, int] = {}
        self._paths: dict[int, str] = {}

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
            ((pbx, name, file_id, line) for (pbx, name), (file_id, line) in self._memory.items()),
        )
        self._memory.clear()
        return db

    def first_seen(self, pbx: str, name: str, file: str, line: int) -> tuple[str, int] | None:
        """Record this occurrence; return the earlier one's (file, line) if there was one."""
        file_id = self._file_ids.get(file)
        if file_id is None:
            file_id = self._file_ids[file] = len(self._file_ids) + 1
            self._paths[file_id] = file
        if self._db is None:
            earlier = self._memory.setdefault((pbx, name), (file_id, line))
            if earlier != (file_id, line):
                return self._paths[earlier[0]], earlier[1]
            if len(self._memory) >= self._memory_limit:
                self._db = self._spill()
            return None
        cursor = self._db.execute(
            "INSERT OR IGNORE INTO names VALUES (?, ?, ?, ?)", (pbx, name, file_id, line)
        )
        if cursor.rowcount:
            return None
        earlier_file, earlier_line = self._db.execute(
            "SELECT file, line FROM names WHERE pbx = ? AND name = ?", (pbx, name)
        ).fetchone()
        return self._paths[earlier_file], int(earlier_line)

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
