"""A problem found in an input file, located by file, physical line and column."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass

from trunks.text import printable

# Past this many, problems are counted, not kept: a hostile file of millions of broken rows must
# not fill memory with messages.
MAX_LISTED_PROBLEMS = 100_000


@dataclass(frozen=True, slots=True)
class Problem:
    """What `validate --json` lists under "errors": the file and column as given (JSON escapes
    control characters); the text form escapes them too, so input cannot drive a terminal."""

    file: str
    line: int
    column: str | None
    message: str

    def as_json(self) -> dict[str, str | int | None]:
        """The error object of `validate --json`."""
        return asdict(self)

    def __str__(self) -> str:
        column = f" {self.column}:" if self.column else ""
        return printable(f"{self.file}:{self.line}:{column} {self.message}")


@dataclass(frozen=True, slots=True)
class UnlistedProblems(Problem):
    """The last problem of a full list: how many more there are, from where the first one is."""

    count: int

    @classmethod
    def after(cls, first: Problem, count: int) -> UnlistedProblems:
        """`count` problems left out, `first` being the first of them."""
        message = (
            f"{count:,} more problem{'s' if count > 1 else ''} not listed, from here on "
            f"(only the first {MAX_LISTED_PROBLEMS:,} are)"
        )
        return cls(first.file, first.line, None, message, count)

    def as_json(self) -> dict[str, str | int | None]:
        """The error object of `validate --json`."""
        return {"file": self.file, "line": self.line, "column": None, "message": self.message}


def add_problems(listed: list[Problem], problems: Iterable[Problem]) -> None:
    """Append problems to `listed` up to MAX_LISTED_PROBLEMS; further ones are counted by its
    last entry, an UnlistedProblems."""
    for problem in problems:
        if len(listed) < MAX_LISTED_PROBLEMS:
            listed.append(problem)
            continue
        last = listed[MAX_LISTED_PROBLEMS:]
        if last and isinstance(last[0], UnlistedProblems):
            listed[-1] = UnlistedProblems.after(last[0], last[0].count + 1)
        else:
            listed.append(UnlistedProblems.after(problem, 1))
