"""A file read at one path and named by another: an upload, shown by the name it was sent with.

The producer opens every input with `os.fspath` and names it in messages and records with
`str`; a NamedPath keeps the two apart, so that no temporary path reaches a user.
"""

from __future__ import annotations

import os
from pathlib import Path


class NamedPath(os.PathLike[str]):
    """A path that reads as `name` wherever the producer shows or stores it."""

    def __init__(self, path: str | Path, name: str) -> None:
        self.path = Path(path)
        self.name = name

    def __fspath__(self) -> str:
        return os.fspath(self.path)

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return f"NamedPath({self.name!r})"
