"""Producer commands of `trunkctl`: parse options, call the producer, print the result."""

from __future__ import annotations

from pathlib import Path

import click

from core.errors import EXIT_FAILED, EXIT_OK
from jobs.labels import label_problem
from jobs.operations import Op
from producer.input_files import InputLimits
from producer.submit import SubmitResult, Submitter
from producer.validation import ValidationReport, validate_batch
from trunkctl import context
from trunkctl.output import print_json

TRUNK_FILES = click.argument(
    "trunk_files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path)
)


@click.command()
@TRUNK_FILES
@click.option(
    "--pbxs", "pbxs_file", required=True, type=click.Path(dir_okay=False, path_type=Path),
    help="Inventory CSV of the PBXs the rows name.",
)  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object instead of text.")
def validate(trunk_files: tuple[Path, ...], pbxs_file: Path, as_json: bool) -> int:
    """Check every row of TRUNK_FILES against Yeastar's spec; send nothing."""
    report = validate_batch(trunk_files, pbxs_file, InputLimits.from_settings(context.settings()))
    if as_json:
        print_json(report.as_json())
    else:
        print_problems(report)
    return EXIT_OK if report.ok else EXIT_FAILED


def print_problems(report: ValidationReport, *, err: bool = False) -> None:
    """Every problem as `file:line: column: message`, then a summary line (on stderr: `err`)."""
    for problem in report.problems:
        click.echo(str(problem), err=err)
    summary = f"{report.valid} valid, {report.invalid} invalid rows"
    count = len(report.problems)
    problems = f"{count} problem" + ("" if count == 1 else "s")
    click.echo(summary if report.ok else f"\n{summary}; {problems}", err=err)


def _refusal(report: ValidationReport) -> str:
    """Why a submit queued nothing (see Submitter.submit), and what to do about it."""
    if report.batch_unusable:
        return "the inventory or a file as a whole is wrong (--skip-invalid skips rows, not files)"
    if not report.valid:
        return "no row is valid"
    return "fix the rows above, or pass --skip-invalid to queue the valid ones"


PBXS_OPTIONAL = click.option(
    "--pbxs", "pbxs_file", type=click.Path(dir_okay=False, path_type=Path),
    help="Inventory CSV; optional when every alias was stored by an earlier submit.",
)  # fmt: skip
SKIP_INVALID = click.option(
    "--skip-invalid", is_flag=True, help="Queue the valid rows, record the rest as rejected."
)


def _label(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    problem = label_problem(value)
    if problem:
        raise click.BadParameter(problem)
    return value


LABEL = click.option(
    "--label", default="", callback=_label, help="A label to find the job by (200 characters)."
)
UPDATE_EXISTING = click.option(
    "--update-existing", is_flag=True,
    help="A trunk already on the PBX gets the fields of its row that differ (trunk/update): "
    "it ends updated, or exists when nothing differed.",
)  # fmt: skip


def submit_batch(
    trunk_files: tuple[Path, ...], pbxs_file: Path | None, *, skip_invalid: bool, label: str,
    as_json: bool, update_existing: bool = False,
) -> SubmitResult:  # fmt: skip
    """Submit a batch; a refusal, or rows rejected by --skip-invalid, printed on stderr (a
    refusal as the `validate --json` object on stdout with `as_json`)."""
    limits = InputLimits.from_settings(context.settings())
    submitter = Submitter(context.job_store(), context.task_queue(), limits=limits)
    op = Op.UPSERT if update_existing else Op.CREATE
    result = submitter.submit(trunk_files, pbxs_file, skip_invalid=skip_invalid, label=label, op=op)
    if result.job_id is None:
        if as_json:
            print_json(result.report.as_json())
        else:
            print_problems(result.report, err=True)
            click.echo(f"nothing queued: {_refusal(result.report)}", err=True)
    elif result.rejected and not as_json:
        print_problems(result.report, err=True)
    return result


@click.command()
@TRUNK_FILES
@PBXS_OPTIONAL
@SKIP_INVALID
@LABEL
@UPDATE_EXISTING
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object instead of text.")
def submit(
    *, trunk_files: tuple[Path, ...], pbxs_file: Path | None, skip_invalid: bool, label: str,
    update_existing: bool, as_json: bool,
) -> int:  # fmt: skip
    """Validate TRUNK_FILES and queue one delivery task per trunk (all or nothing by default)."""
    result = submit_batch(
        trunk_files, pbxs_file, skip_invalid=skip_invalid, label=label, as_json=as_json,
        update_existing=update_existing,
    )  # fmt: skip
    if result.job_id is None:
        return EXIT_FAILED
    if as_json:
        print_json(result.as_json())
    else:
        click.echo(result.job_id)  # alone on stdout, for JOB=$(trunkctl submit ...)
    return EXIT_OK
