"""A batch of trunk CSV files read row by row into validated trunk requests.

Each row comes out with its location, its request when valid, and every problem found in it:
column rules, duplicate names per PBX across all files, and PBX aliases missing from the inventory.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from os import PathLike

from core.errors import UnreadableInputError
from producer.csv_reader import CsvRow, closest_match, open_table
from producer.input_files import DEFAULT_LIMITS, InputLimits
from producer.name_index import NameIndex
from producer.problems import Problem
from trunks.cells import PBX_COLUMN, TRUNK_COLUMNS, CellError, cell_text
from trunks.rows import Trunk, validate_row
from trunks.text import printable, quoted


@dataclass(frozen=True, slots=True)
class BatchRow:
    """One trunk row of the batch: where it is, what it asks for, and what is wrong with it."""

    file: str
    line: int
    pbx: str
    name: str
    type: str
    request: Trunk | None
    problems: tuple[Problem, ...]


@dataclass(frozen=True, slots=True)
class FileProblem:
    """A problem with a whole file (its header): none of its rows are read."""

    problem: Problem


def _alias(row: CsvRow, aliases: Collection[str] | None) -> tuple[str, str | None]:
    """The row's PBX alias ("" when its cell is unreadable), and what is wrong with it."""
    try:
        alias = _readable(row, PBX_COLUMN, strict=True)
    except CellError as exc:
        return "", str(exc)
    if not alias:
        return alias, "required: the inventory alias of the target PBX"
    if aliases is None or alias in aliases:
        return alias, None
    guess = closest_match(alias, aliases, cutoff=0.6)
    hint = f"; did you mean {guess!r}?" if guess else ""
    return alias, f"{quoted(alias)} is not in the PBX inventory{hint}"


def _readable(row: CsvRow, column: str, *, strict: bool = False) -> str:
    """A cell's trimmed text, or "" when it breaks a rule of every cell (too long, a control
    character): such text is neither indexed nor stored with the item (`strict`: CellError)."""
    raw = row.cells.get(column, "")
    if row.plain:
        return raw.strip()  # cell_text's common case, without the call
    try:
        return cell_text(column, raw)
    except CellError:
        if strict:
            raise
        return ""


def _where(files: Sequence[str], earlier: tuple[int, int], file_no: int) -> str:
    """Where the first occurrence of a name is, as seen from a row of file `file_no`."""
    earlier_no, earlier_line = earlier
    if earlier_no == file_no:
        return f"line {earlier_line}"
    again = " (the file is given more than once)" if files[earlier_no] == files[file_no] else ""
    return f"{printable(files[earlier_no])} line {earlier_line}{again}"


def _batch_row(
    files: Sequence[str],
    file_no: int,
    row: CsvRow,
    aliases: Collection[str] | None,
    names: NameIndex,
) -> BatchRow:
    file = files[file_no]
    result = validate_row(row.cells, plain=row.plain)
    problems = [Problem(file, row.line, e.column, e.message) for e in result.errors]
    if row.extra_cells:
        problems.append(Problem(file, row.line, None, "the row has more cells than the header"))
    alias, alias_message = _alias(row, aliases)
    if alias_message:
        problems.append(Problem(file, row.line, PBX_COLUMN, alias_message))
    name = _readable(row, "name")
    if name:
        earlier = names.first_seen(alias, name, file_no, row.line)
        if earlier:
            where = _where(files, earlier, file_no)
            message = f"{quoted(name)} is already used for PBX {quoted(alias)} at {where}"
            problems.append(Problem(file, row.line, "name", message))
    return BatchRow(
        file=file,
        line=row.line,
        pbx=alias,
        name=name,
        type=_readable(row, "type"),
        request=None if problems else result.request,
        problems=tuple(problems),
    )


def _file_name(path: str | PathLike[str]) -> str:
    """The name of a trunks file, which is stored with its job's items: UTF-8 text."""
    name = str(path)
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:  # bytes that are not UTF-8, kept by Python as surrogates
        reason = "its name is not UTF-8 text (rename the file)"
        raise UnreadableInputError(printable(name), reason) from None
    return name


def read_batch(
    paths: Sequence[str | PathLike[str]],
    aliases: Collection[str] | None,
    limits: InputLimits = DEFAULT_LIMITS,
) -> Iterator[BatchRow | FileProblem]:
    """Every row of every file in order, validated; a bad header yields FileProblems instead.
    `aliases`: the PBX aliases rows may name (None: not checked, the inventory is unreadable)."""
    files = [_file_name(path) for path in paths]
    with NameIndex() as names:
        for file_no, file in enumerate(files):
            with open_table(paths[file_no], TRUNK_COLUMNS, limits.trunks) as table:
                if table.problems:
                    for header_problem in table.problems:
                        yield FileProblem(
                            Problem(file, 1, header_problem.column, header_problem.message)
                        )
                    continue
                for row in table.rows():
                    yield _batch_row(files, file_no, row, aliases, names)
