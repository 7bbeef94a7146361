"""Commands on jobs: status, report, retry, jobs."""

from __future__ import annotations

import csv
import io
import json
import sys
import time
from pathlib import Path
from typing import Any

import click

from core.errors import EXIT_FAILED, EXIT_OK, EXIT_TIMEOUT, UsageError
from jobs.job_writer import cut_short_advice
from jobs.records import REPORT_FIELDS
from jobs.states import ALL_STATES, FINAL_STATES, GOOD_STATES
from jobs.store import SUBMIT_CUT_SHORT, SUBMIT_RUNNING, JobStatus, JobSummary
from trunkctl import context
from trunkctl.output import print_json

# `status --wait` reads the job again this often while it draws progress; otherwise it waits for
# the job's "final" announcement, reading the job at least every POLL_QUIET_S in case it missed it.
POLL_S = 0.1
POLL_QUIET_S = 1.0
# Erases what a longer previous progress line left on the terminal.
CLEAR_TO_END = "\x1b[K"


def _status_or_fail(job_id: str) -> JobStatus:
    status = context.job_store().status(job_id)
    if status is None:
        raise UsageError(f"no job {job_id!r} (unknown, or expired)")
    return status


def _cut_short_text(job_id: str) -> str:
    """What to do about a job whose submit was cut short."""
    return (
        f"the submit of {job_id} was cut short (killed, or its Redis connection lost) before it "
        f"had stored and queued every trunk: {cut_short_advice(job_id)}"
    )


def _outcome_word(status: JobSummary) -> str:
    if status["final"]:
        return str(status["outcome"])
    return SUBMIT_CUT_SHORT if status["submit"] == SUBMIT_CUT_SHORT else "in progress"


def status_exit_code(status: JobStatus) -> int:
    """0 when every item is succeeded or exists, 1 when any failed or was rejected, or when the
    job's submit was cut short."""
    if status["submit"] == SUBMIT_CUT_SHORT:
        return EXIT_FAILED
    counts = status["counts"]
    bad = sum(n for state, n in counts.items() if state in FINAL_STATES - GOOD_STATES)
    return EXIT_FAILED if bad else EXIT_OK


def _progress_line(status: JobStatus) -> str:
    counts = status["counts"]
    done = sum(counts.get(state, 0) for state in FINAL_STATES)
    total = status["total"] or 1
    width = 30
    filled = int(width * done / total)
    parts = ", ".join(f"{state} {counts[state]}" for state in ALL_STATES if counts.get(state))
    return f"[{'#' * filled}{'.' * (width - filled)}] {done}/{status['total']}  {parts}"


STATE_COLOURS = {
    "succeeded": "green", "exists": "green", "failed": "red", "rejected": "red",
    "running": "yellow", "retrying": "yellow",
}  # fmt: skip


def styled(state: str, width: int = 0) -> str:
    """A state name, padded, in its colour (click.echo drops colours off a terminal)."""
    return click.style(f"{state:<{width}}", fg=STATE_COLOURS.get(state))


def _print_status(status: JobStatus) -> None:
    click.echo(f"job      {status['job_id']}  {status['label']}".rstrip())
    click.echo(f"created  {status['created_at']}")
    outcome = _outcome_word(status)
    colour = {"success": "green", "failed": "red", "partial": "yellow", SUBMIT_CUT_SHORT: "red"}
    click.echo(f"outcome  {click.style(outcome, fg=colour.get(outcome))}")
    click.echo(f"total    {status['total']}")
    if status["submit"] == SUBMIT_RUNNING:
        click.echo("         (its submit is still storing and queuing trunks)")
    for name in ALL_STATES:
        if status["counts"].get(name):
            click.echo(f"  {styled(name, 10)} {status['counts'][name]}")
    pending = {
        pbx: {s: n for s, n in counts.items() if s not in FINAL_STATES}
        for pbx, counts in status["pbxs"].items()
    }
    pending = {pbx: counts for pbx, counts in pending.items() if counts}
    if pending:
        click.echo("still to do, per PBX:")
        for pbx, counts in pending.items():
            click.echo(f"  {pbx:<20} " + ", ".join(f"{s} {n}" for s, n in counts.items()))


def _wait_until_final(job_id: str, timeout_s: float | None, live: bool) -> JobStatus:
    """The job's status once final (or at the timeout), with a progress line if `live`."""
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    with context.job_store().final_announcement(job_id) as wait_final:
        current = _status_or_fail(job_id)  # after subscribing: no announcement is missed
        while not current["final"] and current["submit"] != SUBMIT_CUT_SHORT:
            pause_s = POLL_S if live else POLL_QUIET_S
            if deadline is not None:
                if (left_s := deadline - time.monotonic()) <= 0:
                    break
                pause_s = min(pause_s, left_s)
            if live:
                click.echo("\r" + _progress_line(current) + CLEAR_TO_END, nl=False, err=True)
            wait_final(pause_s)
            current = _status_or_fail(job_id)
    if live:
        click.echo("\r" + _progress_line(current) + CLEAR_TO_END, err=True)
    return current


@click.command()
@click.argument("job_id")
@click.option("--wait", is_flag=True, help="Block until every item is final.")
@click.option(
    "--timeout",
    "timeout_s",
    type=click.FloatRange(min=0),
    default=None,
    help="Give up waiting after S seconds (exit 3).",
)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object instead of text.")
def status(job_id: str, wait: bool, timeout_s: float | None, as_json: bool) -> int:
    """Counts per state of a job; exit 0 all delivered, 1 some failed, 3 not final yet
    (timeout)."""
    if timeout_s is not None and not wait:
        raise UsageError("--timeout applies to --wait: give both, or neither")
    live = wait and not as_json and sys.stderr.isatty()
    current = _wait_until_final(job_id, timeout_s, live) if wait else _status_or_fail(job_id)
    if as_json:
        print_json(current)
    else:
        _print_status(current)
    if current["submit"] == SUBMIT_CUT_SHORT:
        click.echo(_cut_short_text(job_id), err=True)
    elif wait and not current["final"]:
        final = current["total"] - sum(
            current["counts"].get(state, 0) for state in ("queued", "running", "retrying")
        )
        click.echo(
            f"timed out after {timeout_s:g} s: {final} of {current['total']} items final",
            err=True,
        )
        return EXIT_TIMEOUT
    code = status_exit_code(current)
    if code == EXIT_OK and not current["final"]:
        # Nothing failed so far, but not done: what `--wait --timeout 0` says too, so that
        # `trunkctl status JOB && ...` never goes on before the trunks are delivered.
        return EXIT_TIMEOUT
    return code


def _csv_cell(value: Any) -> Any:
    """A report value as a CSV cell: nothing for None, JSON for the PBX's structured detail."""
    if value is None:
        return ""
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    return value


@click.command()
@click.argument("job_id")
@click.option(
    "--format", "fmt", type=click.Choice(["csv", "json"]), default="csv", show_default=True
)
@click.option(
    "--state",
    "states",
    multiple=True,
    type=click.Choice([s.value for s in ALL_STATES]),
    help="Only items in this state (repeatable).",
)
@click.option(
    "-o",
    "output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write to FILE instead of stdout.",
)
def report(job_id: str, fmt: str, states: tuple[str, ...], output: Path | None) -> int:
    """One record per trunk, in input order: where it was, what happened, never a secret."""
    _status_or_fail(job_id)
    records = (
        record for record in context.job_store().items(job_id)
        if not states or record["state"] in states
    )  # fmt: skip
    if fmt == "json":
        text = json.dumps({"job_id": job_id, "items": list(records)}, indent=2, ensure_ascii=False)
        text += "\n"
    else:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=REPORT_FIELDS, lineterminator="\n")
        writer.writeheader()
        for record in records:
            writer.writerow({k: _csv_cell(v) for k, v in record.items()})
        text = buffer.getvalue()
    if output:
        try:
            output.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"{output}: {exc.strerror or exc}") from None
    else:
        click.echo(text, nl=False)
    return EXIT_OK


@click.command()
@click.argument("job_id")
@click.option(
    "--pbxs", "pbxs_file", type=click.Path(dir_okay=False, path_type=Path),
    help="Corrected inventory CSV: replaces the stored entries of its aliases.",
)  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object instead of text.")
def retry(job_id: str, pbxs_file: Path | None, as_json: bool) -> int:
    """Re-queue the failed items of a job (one fresh login per PBX with what is stored now)."""
    from producer.input_files import InputLimits  # noqa: PLC0415 - only this command reads CSV
    from producer.submit import Submitter  # noqa: PLC0415 - only this command queues

    cut_short = _status_or_fail(job_id)["submit"] == SUBMIT_CUT_SHORT
    limits = InputLimits.from_settings(context.settings())
    submitter = Submitter(context.job_store(), context.task_queue(), limits)
    result = submitter.retry(job_id, pbxs_file)
    if result.requeued is None:
        if as_json:  # the `retry --json` object, with the problems as `validate --json` has them
            errors = [problem.as_json() for problem in result.problems]
            print_json({**result.as_json(), "errors": errors})
        else:
            for problem in result.problems:
                click.echo(str(problem), err=True)
            click.echo("nothing re-queued: the inventory has problems", err=True)
        return EXIT_FAILED
    if as_json:
        print_json(result.as_json())
    elif cut_short:
        total = _status_or_fail(job_id)["total"]
        click.echo(
            f"{job_id} was cut short while it was submitted: it now holds the {total} trunks "
            f"that were stored (submit the batch again for the others); re-queued "
            f"{result.requeued} items"
        )
    else:
        click.echo(f"re-queued {result.requeued} failed items of {job_id}")
    return EXIT_OK


@click.command()
@click.option(
    "--limit", type=click.IntRange(min=1), default=20, show_default=True,
    help="How many recent jobs to list.",
)  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object instead of text.")
def jobs(limit: int, as_json: bool) -> int:
    """Recent jobs, newest first, with their label, creation time and counts."""
    listed = context.job_store().list_jobs(limit)
    if as_json:
        print_json({"jobs": listed})
        return EXIT_OK
    click.echo(f"{'JOB':<22} {'CREATED':<21} {'OUTCOME':<12} {'COUNTS':<40} LABEL")
    for job in listed:
        outcome = _outcome_word(job)
        counts = ", ".join(f"{state} {n}" for state, n in job["counts"].items() if n)
        click.echo(
            f"{job['job_id']:<22} {job['created_at']:<21} {outcome:<12} {counts:<40} {job['label']}"
        )
    return EXIT_OK
