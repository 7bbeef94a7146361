"""Streaming CSV tables: header checks, delimiter detection, BOM, physical line numbers.

A table is read one row at a time, so a 100k-row file is never held in memory. Every row knows the
physical line it starts on (a quoted cell may span lines), which is what the user sees in an editor.
Hostile files are refused within bounds: the file by its size cap (`producer.input_files`), a row
past MAX_ROW_CHARS characters, a header past MAX_COLUMNS columns (from its first line, before it
is parsed).
"""

from __future__ import annotations

import codecs
import csv
import difflib
import io
import os
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from os import PathLike
from pathlib import Path

from core.errors import UnreadableInputError
from producer.input_files import DEFAULT_LIMITS, SizeCap, open_capped
from trunks.text import ECHO_MAX_CHARS, MAX_CELL_CHARS, MAX_JSON_CELL_CHARS, printable, quoted

DELIMITERS = (",", ";")
MAX_COLUMNS = 200
# Far above any valid row (its JSON cells, quotes doubled, included), far below the memory of one.
MAX_ROW_CHARS = 1024 * 1024
# A header of MAX_COLUMNS names of MAX_CELL_CHARS, each quoted, fits in this.
HEADER_LINE_CHARS = MAX_COLUMNS * (MAX_CELL_CHARS + 3)
# A line this short (its line break included) has no cell longer than MAX_CELL_CHARS.
_PLAIN_LINE_CHARS = MAX_CELL_CHARS + 2


@dataclass(frozen=True, slots=True)
class HeaderProblem:
    """A header cell that makes the whole file unusable (reported once, at line 1)."""

    column: str | None
    message: str


@dataclass(frozen=True, slots=True)
class CsvRow:
    """One data row: its cells by column name, and the physical line it starts on. `plain`: the
    row is one short line of printable characters, so no cell can break a rule of every cell
    (`trunks.text`), and none needs checking for it."""

    line: int
    cells: dict[str, str]
    extra_cells: int
    plain: bool = False


def _unquoted(line: str) -> str:
    return "".join(line.split('"')[::2])


def detect_delimiter(header_line: str) -> str:
    """`,` or `;`, whichever separates more cells of the header (quoted text is ignored)."""
    unquoted = _unquoted(header_line)
    return max(DELIMITERS, key=unquoted.count)


def closest_match(name: str, known: Iterable[str], cutoff: float = 0.5) -> str | None:
    """The known name (column, alias) a mistyped name most likely meant."""
    # Known names are short: the head of a long name is enough, and keeps difflib quick.
    head = name[:ECHO_MAX_CHARS]
    matches = difflib.get_close_matches(head, list(known), n=1, cutoff=cutoff)
    return matches[0] if matches else None


_TOO_MANY_COLUMNS = HeaderProblem(None, f"the header has more than {MAX_COLUMNS} columns")
_HEADER_TOO_LONG = (
    f"the header row is longer than {HEADER_LINE_CHARS:,} characters (at most {MAX_COLUMNS} "
    f"names of at most {MAX_CELL_CHARS:,})"
)


def _too_many_columns(line: str, delimiter: str) -> bool:
    """Whether the first physical line of a header already holds more than MAX_COLUMNS cells."""
    return _unquoted(line).count(delimiter) >= MAX_COLUMNS


def _unknown_column(name: str, known: Sequence[str]) -> HeaderProblem:
    guess = closest_match(name, known)
    if guess:
        hint = f"; did you mean {guess!r}?"
    else:  # nothing alike: still name the nearest, as the message promises one
        hint = f"; the closest valid column is {closest_match(name, known, cutoff=0.0)!r}"
    return HeaderProblem(name, f"unknown column {quoted(name)}{hint}")


def check_header(names: Sequence[str], known: Sequence[str]) -> list[HeaderProblem]:
    """Every unknown, unnamed, over-long or repeated column of a header row."""
    if len(names) > MAX_COLUMNS:
        return [_TOO_MANY_COLUMNS]
    problems: list[HeaderProblem] = []
    seen: set[str] = set()
    for position, name in enumerate(names, start=1):
        if not name:
            problems.append(HeaderProblem(None, f"column {position} has no name"))
        elif len(name) > MAX_CELL_CHARS:
            message = f"column {position} has a name longer than {MAX_CELL_CHARS:,} characters"
            problems.append(HeaderProblem(None, message))
        elif name not in known:
            problems.append(_unknown_column(name, known))
        elif name in seen:
            problems.append(HeaderProblem(name, f"column {name!r} appears more than once"))
        seen.add(name)
    return problems


class _RowTooLongError(Exception):
    """Raised by _Lines when a record passes MAX_ROW_CHARS (CsvTable knows where it started)."""


class _Lines:
    """The physical lines of a text, for the csv reader: the lines of one record add up to at
    most MAX_ROW_CHARS characters (CsvTable resets `left` as a record starts), so that a longer
    one is never read whole."""

    def __init__(self, text: io.TextIOWrapper) -> None:
        self._text = text
        self._first: str | None = None
        self.blank = 0  # blank lines before the header, which the reader does not see
        self.left = MAX_ROW_CHARS
        self.last = ""  # the last line read

    def first_line(self) -> str | None:
        """The first line that is not blank (of a long one, only HEADER_LINE_CHARS + 1
        characters), left to be read again as the start of the first record."""
        while line := self._text.readline(HEADER_LINE_CHARS + 1):
            if line.strip() or len(line) > HEADER_LINE_CHARS:
                self._first = line
                return line
            self.blank += 1
        return None

    def __iter__(self) -> Iterator[str]:
        readline = self._text.readline
        line = self._first or readline(self.left + 1)
        while line:
            self.left -= len(line)
            if self.left < 0:
                raise _RowTooLongError
            self.last = line
            yield line
            line = readline(self.left + 1)


class CsvTable:
    """An open CSV file: its checked header, then its rows on demand."""

    def __init__(
        self, path: str | PathLike[str], text: io.TextIOWrapper, known: Sequence[str], cap: SizeCap
    ) -> None:
        self.path = Path(os.fspath(path))  # where it is read
        self.name = str(path)  # what messages call it (an upload: its name, see named_path)
        self._source = path
        self._cap = cap
        self._shown_path = printable(self.name)
        self._lines = _Lines(text)
        self._reader = csv.reader(())
        self._record_start = 1
        self.columns: list[str] = []
        try:
            first = self._lines.first_line()
        except (UnicodeDecodeError, OSError) as exc:
            raise self._unreadable(exc) from None
        self.delimiter = detect_delimiter(first or "")
        if first is None or _too_many_columns(first, self.delimiter):
            self.problems = [_EMPTY if first is None else _TOO_MANY_COLUMNS]
            return
        if len(first) > HEADER_LINE_CHARS:  # /dev/zero, say: a row too long to be a header
            reason = f"line {self._lines.blank + 1}: {_HEADER_TOO_LONG}"
            raise UnreadableInputError(self._shown_path, reason)
        # strict: a quote left open swallows every line after it into one cell, silently.
        self._reader = csv.reader(self._lines, delimiter=self.delimiter, strict=True)
        header = self._next_record()
        while header is not None and not "".join(header).strip():
            header = self._next_record()  # blank lines before the header are skipped too
        self.columns = [name.strip().lower() for name in header or []]
        self.problems = check_header(self.columns, known) if header is not None else [_EMPTY]

    def _unreadable(self, exc: Exception) -> UnreadableInputError:
        """The error for a file whose reading failed with `exc`."""
        if isinstance(exc, UnicodeDecodeError):
            return _not_utf8(self._source, self._cap, exc)
        if isinstance(exc, _RowTooLongError):
            reason = f"a row is longer than {MAX_ROW_CHARS:,} characters"
            return UnreadableInputError(self._shown_path, f"line {self._record_start}: {reason}")
        if isinstance(exc, csv.Error):
            lines_read = self._lines.blank + self._reader.line_num
            reason = _csv_reason(exc, self._record_start, lines_read)
            return UnreadableInputError(self._shown_path, reason)
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        return UnreadableInputError(self._shown_path, reason)

    def _next_record(self) -> list[str] | None:
        self._record_start = self._lines.blank + self._reader.line_num + 1
        self._lines.left = MAX_ROW_CHARS
        try:
            return next(self._reader, None)
        except (UnicodeDecodeError, csv.Error, OSError, _RowTooLongError) as exc:
            raise self._unreadable(exc) from None

    def rows(self) -> Iterator[CsvRow]:
        """The data rows; blank lines (and rows of empty cells) are skipped."""
        columns, lines, reader = self.columns, self._lines, self._reader
        width = len(columns)
        while True:
            record = self._next_record()
            if record is None:
                return
            if not "".join(record).strip():
                continue
            cells = dict(zip(columns, record, strict=False))
            extra = sum(1 for cell in record[width:] if cell.strip()) if len(record) > width else 0
            last = lines.last  # the record's one line, if it is plain
            plain = (
                lines.blank + reader.line_num == self._record_start
                and len(last) <= _PLAIN_LINE_CHARS
                and last.rstrip("\r\n").isprintable()
            )
            yield CsvRow(self._record_start, cells, extra, plain)


_EMPTY = HeaderProblem(None, "the file is empty: a header row is required")


def _csv_reason(exc: csv.Error, record_start: int, lines_read: int) -> str:
    """Why the csv module gave up on a record, in the user's words."""
    if "unexpected end of data" in str(exc):
        return f"line {record_start}: a quoted cell is opened and never closed"
    if "field larger than field limit" in str(exc):
        return (
            f"line {record_start}: a cell is longer than {csv.field_size_limit():,} "
            f"characters (no column takes more than {MAX_JSON_CELL_CHARS:,})"
        )
    return f"line {lines_read}: badly quoted cell ({exc})"


def _not_utf8(
    path: str | PathLike[str], cap: SizeCap, exc: UnicodeDecodeError
) -> UnreadableInputError:
    """The error for a file that is not UTF-8, naming the first line that is not."""
    # Text is decoded in chunks ahead of the rows, so the reader's line is not the bad one: look
    # again line by line (a newline byte is never part of a multi-byte UTF-8 character).
    shown = printable(str(path))
    decoder = codecs.getincrementaldecoder("utf-8")()
    with open_capped(path, cap) as raw:
        number = 1
        while piece := raw.readline(MAX_ROW_CHARS):
            try:
                decoder.decode(piece)
            except UnicodeDecodeError:
                return UnreadableInputError(
                    shown, f"is not UTF-8 text: line {number} ({exc.reason})"
                )
            number += piece.endswith(b"\n")
    return UnreadableInputError(shown, f"is not UTF-8 text ({exc.reason})")


@contextmanager
def open_table(
    path: str | PathLike[str], known: Sequence[str], cap: SizeCap = DEFAULT_LIMITS.trunks
) -> Iterator[CsvTable]:
    """Open a CSV file for reading, at most `cap` bytes of it, named by `str(path)` in messages
    (see producer.named_path); a file that cannot be opened or read is UnreadableInputError."""
    with io.TextIOWrapper(open_capped(path, cap), encoding="utf-8-sig", newline="") as text:
        yield CsvTable(path, text, known, cap)
