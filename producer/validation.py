"""Checking a whole batch (and its inventory) before anything is sent."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any

from producer.batch import BatchRow, FileProblem, read_batch
from producer.input_files import DEFAULT_LIMITS, InputLimits
from producer.inventory import Inventory, read_inventory
from producer.problems import Problem, add_problems


@dataclass
class ValidationReport:
    """Counts of valid and invalid trunk rows, and every problem in input order."""

    valid: int = 0
    invalid: int = 0
    problems: list[Problem] = field(default_factory=list)
    # Set when a header or the inventory is wrong: no row can be trusted, even with --skip-invalid.
    batch_unusable: bool = False
    used_aliases: set[str] = field(default_factory=set)

    @property
    def ok(self) -> bool:
        """True when nothing is wrong anywhere in the batch."""
        return not self.problems

    def as_json(self) -> dict[str, Any]:
        """The `validate --json` object."""
        return {
            "valid": self.valid,
            "invalid": self.invalid,
            "errors": [problem.as_json() for problem in self.problems],
        }


def check_batch(
    trunk_paths: Sequence[str | PathLike[str]],
    inventory: Inventory,
    stored_aliases: Collection[str] = (),
    on_row: Callable[[BatchRow], None] | None = None,
    limits: InputLimits = DEFAULT_LIMITS,
) -> ValidationReport:
    """Validate every trunk row against the inventory (and aliases stored by earlier submits);
    `on_row` sees each row as it is read."""
    report = ValidationReport(problems=list(inventory.problems))
    report.batch_unusable = bool(inventory.problems)
    # Aliases of invalid inventory rows still count as known: their rows are not the problem.
    # An inventory whose header is wrong was not read at all: no alias is checked against it.
    aliases = None if inventory.unread else inventory.aliases | set(stored_aliases)
    for item in read_batch(trunk_paths, aliases, limits):
        if isinstance(item, FileProblem):
            add_problems(report.problems, [item.problem])
            report.batch_unusable = True
            continue
        if on_row is not None:
            on_row(item)
        if item.problems:
            report.invalid += 1
            add_problems(report.problems, item.problems)
        else:
            report.valid += 1
            report.used_aliases.add(item.pbx)
    if report.valid + report.invalid == 0 and not report.problems:
        report.problems.append(Problem(str(trunk_paths[0]), 1, None, "the batch has no trunk rows"))
        report.batch_unusable = True
    return report


def validate_batch(
    trunk_paths: Sequence[str | Path],
    pbxs_path: str | Path,
    limits: InputLimits = DEFAULT_LIMITS,
) -> ValidationReport:
    """`trunkctl validate`: the inventory file, then every trunk row against it."""
    return check_batch(trunk_paths, read_inventory(pbxs_path, limits=limits), limits=limits)
