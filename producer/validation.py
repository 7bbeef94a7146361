"""`trunkctl validate`: check a whole batch and its inventory, send nothing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from producer.batch import FileProblem, read_batch
from producer.inventory import read_inventory
from producer.problems import Problem


@dataclass
class ValidationReport:
    """Counts of valid and invalid trunk rows, and every problem in input order."""

    valid: int = 0
    invalid: int = 0
    problems: list[Problem] = field(default_factory=list)

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


def validate_batch(trunk_paths: Sequence[str | Path], pbxs_path: str | Path) -> ValidationReport:
    """Validate the inventory, then every trunk row against it."""
    inventory = read_inventory(pbxs_path)
    report = ValidationReport(problems=list(inventory.problems))
    # Aliases of invalid inventory rows still count as known: their rows are not the problem.
    for item in read_batch(trunk_paths, inventory.aliases):
        if isinstance(item, FileProblem):
            report.problems.append(item.problem)
        elif item.problems:
            report.invalid += 1
            report.problems.extend(item.problems)
        else:
            report.valid += 1
    if report.valid + report.invalid == 0 and not report.problems:
        report.problems.append(Problem(str(trunk_paths[0]), 1, None, "the batch has no trunk rows"))
    return report
