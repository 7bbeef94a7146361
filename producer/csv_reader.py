"""Streaming CSV tables: header checks, delimiter detection, BOM, physical line numbers.

A table is read one row at a time, so a 100k-row file is never held in memory. Every row knows the
physical line it starts on (a quoted cell may span lines), which is what the user sees in an editor.
"""

from __future__ import annotations

import csv
import difflib
import io
import itertools
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from os import PathLike
from pathlib import Path

from core.errors import UnreadableInputError

DELIMITERS = (",", ";")


@dataclass(frozen=True, slots=True)
class HeaderProblem:
    """A header cell that makes the whole file unusable (reported once, at line 1)."""

    column: str | None
    message: str


@dataclass(frozen=True, slots=True)
class CsvRow:
    """One data row: its cells by column name, and the physical line it starts on."""

    line: int
    cells: dict[str, str]
    extra_cells: int


def detect_delimiter(header_line: str) -> str:
    """`,` or `;`, whichever separates more cells of the header (quoted text is ignored)."""
    unquoted = "".join(header_line.split('"')[::2])
    return max(DELIMITERS, key=unquoted.count)


def closest_match(name: str, known: Iterable[str], cutoff: float = 0.5) -> str | None:
    """The known name (column, alias) a mistyped name most likely meant."""
    matches = difflib.get_close_matches(name, list(known), n=1, cutoff=cutoff)
    return matches[0] if matches else None


def check_header(names: Sequence[str], known: Sequence[str]) -> list[HeaderProblem]:
    """Every unknown, unnamed or repeated column of a header row."""
    problems: list[HeaderProblem] = []
    seen: set[str] = set()
    for position, name in enumerate(names, start=1):
        if not name:
            problems.append(HeaderProblem(None, f"column {position} has no name"))
        elif name not in known:
            guess = closest_match(name, known)
            if guess:
                hint = f"; did you mean {guess!r}?"
            else:  # nothing alike: still name the nearest, as the message promises one
                hint = f"; the closest valid column is {closest_match(name, known, cutoff=0.0)!r}"
            problems.append(HeaderProblem(name, f"unknown column {name!r}{hint}"))
        elif name in seen:
            problems.append(HeaderProblem(name, f"column {name!r} appears more than once"))
        seen.add(name)
    return problems


def _lines_to_header(text: io.TextIOWrapper) -> list[str]:
    """The physical lines up to the first one that is not blank (the header's first line)."""
    lines: list[str] = []
    while line := text.readline():
        lines.append(line)
        if line.strip():
            break
    return lines


class CsvTable:
    """An open CSV file: its checked header, then its rows on demand."""

    def __init__(
        self, path: Path, text: io.TextIOWrapper, known: Sequence[str], name: str | None = None
    ) -> None:
        self.path = path
        self.name = str(path) if name is None else name  # what messages call the file
        self._text = text
        try:
            leading_lines = _lines_to_header(text)
        except UnicodeDecodeError as exc:
            raise _not_utf8(path, exc, self.name) from None
        self.delimiter = detect_delimiter(leading_lines[-1] if leading_lines else "")
        # strict: a quote left open swallows every line after it into one cell, silently.
        self._reader = csv.reader(
            itertools.chain(leading_lines, text), delimiter=self.delimiter, strict=True
        )
        header = self._next_record()
        while header is not None and not "".join(header).strip():
            header = self._next_record()  # blank lines before the header are skipped too
        self.columns = [name.strip().lower() for name in header or []]
        self.problems = (
            check_header(self.columns, known)
            if header is not None
            else [HeaderProblem(None, "the file is empty: a header row is required")]
        )

    def _next_record(self) -> list[str] | None:
        start_line = self._reader.line_num + 1
        try:
            return next(self._reader)
        except StopIteration:
            return None
        except UnicodeDecodeError as exc:
            raise _not_utf8(self.path, exc, self.name) from None
        except csv.Error as exc:
            if "unexpected end of data" in str(exc):
                reason = f"line {start_line}: a quoted cell is opened and never closed"
            else:
                reason = f"line {self._reader.line_num}: badly quoted cell ({exc})"
            raise UnreadableInputError(self.name, reason) from None

    def rows(self) -> Iterator[CsvRow]:
        """The data rows; blank lines (and rows of empty cells) are skipped."""
        columns = self.columns
        width = len(columns)
        while True:
            start_line = self._reader.line_num + 1
            record = self._next_record()
            if record is None:
                return
            if not "".join(record).strip():
                continue
            cells = dict(zip(columns, record, strict=False))
            extra = sum(1 for cell in record[width:] if cell.strip()) if len(record) > width else 0
            yield CsvRow(start_line, cells, extra)


def _not_utf8(path: Path, exc: UnicodeDecodeError, name: str) -> UnreadableInputError:
    """The error for a file that is not UTF-8, naming the first line that is not."""
    # Text is decoded in chunks ahead of the rows, so the reader's line is not the bad one: look
    # again line by line (a newline byte is never part of a multi-byte UTF-8 character).
    with path.open("rb") as raw:
        for number, line in enumerate(raw, start=1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                return UnreadableInputError(
                    name, f"is not UTF-8 text: line {number} ({exc.reason})"
                )
    return UnreadableInputError(name, f"is not UTF-8 text ({exc.reason})")


@contextmanager
def open_table(path: str | PathLike[str], known: Sequence[str]) -> Iterator[CsvTable]:
    """Open a CSV file for reading, named by `str(path)` in messages (see
    producer.named_path); a file that cannot be opened is UnreadableInputError."""
    name, path = str(path), Path(path)
    try:
        raw = path.open("rb")
    except OSError as exc:
        raise UnreadableInputError(name, exc.strerror or str(exc)) from None
    with io.TextIOWrapper(raw, encoding="utf-8-sig", newline="") as text:
        yield CsvTable(path, text, known, name)
