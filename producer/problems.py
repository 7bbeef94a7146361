"""A problem found in an input file, located by file, physical line and column."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True, slots=True)
class Problem:
    """What `validate --json` lists under "errors"."""

    file: str
    line: int
    column: str | None
    message: str

    def as_json(self) -> dict[str, str | int | None]:
        """The error object of `validate --json`."""
        return asdict(self)

    def __str__(self) -> str:
        column = f" {self.column}:" if self.column else ""
        return f"{self.file}:{self.line}:{column} {self.message}"
