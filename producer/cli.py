"""Producer commands of `trunkctl`: parse options, call the producer, print the result."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from producer.validation import validate_batch
from trunkctl.errors import EXIT_FAILED, EXIT_OK

TRUNK_FILES = click.argument(
    "trunk_files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path)
)


def print_json(data: Any) -> None:
    """JSON for scripts: one document on stdout."""
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


@click.command()
@TRUNK_FILES
@click.option(
    "--pbxs", "pbxs_file", required=True, type=click.Path(dir_okay=False, path_type=Path),
    help="Inventory CSV of the PBXs the rows name.",
)  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object instead of text.")
def validate(trunk_files: tuple[Path, ...], pbxs_file: Path, as_json: bool) -> int:
    """Check every row of TRUNK_FILES against Yeastar's spec; send nothing."""
    report = validate_batch(trunk_files, pbxs_file)
    if as_json:
        print_json(report.as_json())
    else:
        for problem in report.problems:
            click.echo(str(problem))
        summary = f"{report.valid} valid, {report.invalid} invalid rows"
        click.echo(summary if report.ok else f"\n{summary}; {len(report.problems)} problems")
    return EXIT_OK if report.ok else EXIT_FAILED
