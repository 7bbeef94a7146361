"""Desired state: `plan` (what a batch would change), `apply` (run a reviewed plan), `rollback`
(undo a job). See docs/desired-state.md."""

from __future__ import annotations

from pathlib import Path

import click

from core.errors import EXIT_FAILED, EXIT_OK, EXIT_TIMEOUT, UsageError
from jobs.operations import JobKind, Op
from jobs.plan_view import fully_planned, plan_json
from producer.derived_jobs import DerivedJob
from rollout.local_workers import LocalWorkers
from trunkctl import context
from trunkctl.batch_commands import LABEL, PBXS_OPTIONAL, print_problems
from trunkctl.job_commands import wait_for_job
from trunkctl.output import print_json
from trunkctl.plan_output import print_plan, print_rollback

JSON_OPTION = click.option("--json", "as_json", is_flag=True, help="Print a JSON object.")


def _note(message: str) -> None:
    click.echo(message, err=True)


def _submit_plan(
    trunk_files: tuple[Path, ...], pbxs_file: Path | None, label: str, as_json: bool
) -> str | None:
    """Validate the batch and queue its reads as a plan job; None (problems printed) if any
    row is invalid."""
    from producer.input_files import InputLimits  # noqa: PLC0415 - only these commands read CSV
    from producer.submit import Submitter  # noqa: PLC0415 - only these commands queue

    limits = InputLimits.from_settings(context.settings())
    submitter = Submitter(context.job_store(), context.task_queue(), limits=limits)
    result = submitter.submit(trunk_files, pbxs_file, label=label, op=Op.READ, kind=JobKind.PLAN)
    if result.job_id is None:
        if as_json:
            print_json(result.report.as_json())
        else:
            print_problems(result.report, err=True)
            _note("nothing planned: every row must be valid (see 'trunkctl validate')")
    return result.job_id


@click.command()
@click.argument("trunk_files", nargs=-1, type=click.Path(dir_okay=False, path_type=Path))
@PBXS_OPTIONAL
@click.option(
    "--show", "show_plan", metavar="PLAN",
    help="Print a stored plan again (no files, nothing read).",
)  # fmt: skip
@click.option(
    "--workers", type=click.IntRange(0, 64), default=2, show_default=True,
    help="Local worker processes that read the PBXs; 0: only the workers already running on "
    "the same Redis read.",
)  # fmt: skip
@LABEL
@click.option(
    "--timeout", "timeout_s", type=click.FloatRange(min=0), default=None,
    help="Stop waiting for the reads after S seconds (exit 3).",
)  # fmt: skip
@JSON_OPTION
def plan(
    *, trunk_files: tuple[Path, ...], pbxs_file: Path | None, show_plan: str | None,
    workers: int, label: str, timeout_s: float | None, as_json: bool,
) -> int:  # fmt: skip
    """Show what TRUNK_FILES would change on the PBXs (reads only) and store it as a plan for
    `trunkctl apply`; exit 0 every row planned, 1 a row invalid or a PBX unreadable."""
    if show_plan:
        if trunk_files:
            raise UsageError("--show prints a stored plan: give no trunk files with it")
        return _show(show_plan, as_json)
    if not trunk_files:
        raise UsageError("give the trunk CSV files to plan (or --show PLAN)")
    env = {"TRUNKCTL_REDIS_URL": context.target().url}
    log_dir = context.settings().data_path / "logs"
    with LocalWorkers(workers, env, log_dir, notify=_note) as local:
        plan_id = _submit_plan(trunk_files, pbxs_file, label, as_json)
        if plan_id is None:
            return EXIT_FAILED
        local.wait_ready()
        interrupted = f"interrupted: plan {plan_id} is incomplete; run 'trunkctl plan' again"
        status = wait_for_job(plan_id, timeout_s, quiet=as_json, interrupted=interrupted)
    if not status["final"]:
        _note(f"timed out: plan {plan_id} is not complete ('trunkctl status {plan_id} --wait')")
        return EXIT_TIMEOUT
    return _show(plan_id, as_json)


def _show(plan_id: str, as_json: bool) -> int:
    """Print a complete plan; exit 0 when every row was planned."""
    store = context.job_store()
    status = store.status(plan_id)
    if status is None:
        raise UsageError(store.why_missing(plan_id))
    if status["kind"] != JobKind.PLAN.value:
        raise UsageError(f"{plan_id} is a {status['kind']} job, not a plan")
    if not status["final"]:
        raise UsageError(f"plan {plan_id} is still reading ('trunkctl status {plan_id} --wait')")
    planned = plan_json(plan_id, store.items(plan_id))
    if as_json:
        print_json(planned)
    else:
        print_plan(planned)
        _note(f"plan {plan_id}: review it, then 'trunkctl apply {plan_id}'")
    return EXIT_OK if fully_planned(planned) else EXIT_FAILED


def _print_queued(result: DerivedJob, as_json: bool, what: str) -> None:
    if as_json:
        print_json(result.as_json())
        return
    rejected = f", {result.rejected} not applied (see the report)" if result.rejected else ""
    _note(f"job {result.job_id}: {result.queued} {what} queued{rejected}")
    _note(f"'trunkctl run --resume {result.job_id}' delivers it with local workers")
    click.echo(result.job_id)  # alone on stdout, as submit prints it


@click.command()
@click.argument("plan_id")
@LABEL
@JSON_OPTION
def apply(plan_id: str, label: str, as_json: bool) -> int:
    """Queue the reviewed plan PLAN_ID as a job: its create rows created, update rows updated,
    same rows checked; a row whose trunk changed since the plan read it fails."""
    from producer.plan_apply import apply_plan  # noqa: PLC0415 - only this command applies

    result = apply_plan(context.job_store(), context.task_queue(), plan_id, label)
    _print_queued(result, as_json, "rows")
    return EXIT_OK


@click.command()
@click.argument("job_id")
@click.option("--dry-run", is_flag=True, help="Show what would be undone; queue nothing.")
@LABEL
@JSON_OPTION
def rollback(job_id: str, dry_run: bool, label: str, as_json: bool) -> int:
    """Queue a job that undoes JOB_ID on the PBXs: the trunks it created deleted, the fields it
    updated restored; a trunk changed since JOB_ID touched it is left as it is (failed)."""
    from producer.rollback import rollback_job, rollback_plan  # noqa: PLC0415 - only here

    undo = rollback_plan(context.job_store(), job_id)
    if dry_run:
        if as_json:
            print_json({**undo.as_json(), "dry_run": True})
        else:
            print_rollback(undo.as_json())
            _note("dry run: nothing queued")
        return EXIT_OK
    result = rollback_job(context.job_store(), context.task_queue(), undo, label)
    _print_queued(result, as_json, "undos")
    return EXIT_OK
