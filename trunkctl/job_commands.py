"""Commands on jobs: status, report, retry, jobs, cancel."""

from __future__ import annotations

import io
import json
from pathlib import Path

import click

from core.errors import EXIT_FAILED, EXIT_OK, EXIT_TIMEOUT, InterruptedByUserError, UsageError
from jobs.job_writer import cut_short_advice
from jobs.report_csv import write_report_csv
from jobs.states import ALL_STATES, FINAL_STATES, GOOD_STATES
from jobs.store import SUBMIT_CUT_SHORT, JobStatus
from jobs.watch import WatchEvents, watch_until_final
from trunkctl import context
from trunkctl.output import print_json, shown
from trunkctl.summary import outcome_word, print_failures, print_status


def _status_or_fail(job_id: str) -> JobStatus:
    store = context.job_store()
    status = store.status(job_id)
    if status is None:
        raise UsageError(store.why_missing(job_id))
    return status


def _cut_short_text(job_id: str) -> str:
    """What to do about a job whose submit was cut short."""
    return (
        f"the submit of {job_id} was cut short (killed, or its Redis connection lost) before it "
        f"had stored and queued every trunk: {cut_short_advice(job_id)}"
    )


def status_exit_code(status: JobStatus) -> int:
    """0 when every item is succeeded, updated or exists; 1 when any failed, was rejected or
    cancelled, or when the job's submit was cut short."""
    if status["submit"] == SUBMIT_CUT_SHORT:
        return EXIT_FAILED
    counts = status["counts"]
    bad = sum(n for state, n in counts.items() if state in FINAL_STATES - GOOD_STATES)
    return EXIT_FAILED if bad else EXIT_OK


def wait_for_job(
    job_id: str, timeout_s: float | None, *, quiet: bool, interrupted: str = ""
) -> JobStatus:
    """Watch a job until it is final (or the timeout) with a progress display on stderr; Ctrl-C
    stops watching, not the job, and says so (or says `interrupted`)."""
    from trunkctl.progress import progress_view  # noqa: PLC0415 - rich only where it draws

    view = progress_view(quiet=quiet)
    events = WatchEvents(on_status=view.update, on_outage=view.note)
    try:
        return watch_until_final(
            context.job_store(), job_id, timeout_s=timeout_s, poll_s=view.poll_s, events=events
        )
    except KeyboardInterrupt:
        raise InterruptedByUserError(
            interrupted
            or f"stopped watching: job {job_id} goes on in the workers "
            f"('trunkctl status {job_id} --wait' watches it again)"
        ) from None
    finally:
        view.close()


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
    current = wait_for_job(job_id, timeout_s, quiet=as_json) if wait else _status_or_fail(job_id)
    if as_json:
        print_json(current)
    else:
        print_status(current)
        if wait and current["final"]:
            print_failures(context.job_store(), current)
    if current["submit"] == SUBMIT_CUT_SHORT:
        click.echo(_cut_short_text(job_id), err=True)
    elif wait and not current["final"]:
        final = sum(current["counts"].get(state, 0) for state in FINAL_STATES)
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
        write_report_csv(records, buffer)
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
@click.option(
    "--relogin", is_flag=True,
    help="Send a client secret its PBX refused (within a day) once more, e.g. after the admin "
    "fixed it on the PBX or unblocked this machine's IP.",
)  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object instead of text.")
def retry(job_id: str, pbxs_file: Path | None, relogin: bool, as_json: bool) -> int:
    """Re-queue the failed items of a job (one fresh login per PBX with what is stored now)."""
    from producer.input_files import InputLimits  # noqa: PLC0415 - only this command reads CSV
    from producer.submit import Submitter  # noqa: PLC0415 - only this command queues

    cut_short = _status_or_fail(job_id)["submit"] == SUBMIT_CUT_SHORT
    limits = InputLimits.from_settings(context.settings())
    submitter = Submitter(context.job_store(), context.task_queue(), limits=limits)
    result = submitter.retry(job_id, pbxs_file, relogin=relogin)
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
    click.echo(f"{'JOB':<22} {'CREATED':<21} {'KIND':<8} {'OUTCOME':<12} {'COUNTS':<40} LABEL")
    for job in listed:
        outcome = outcome_word(job)
        counts = ", ".join(f"{state} {n}" for state, n in job["counts"].items() if n)
        click.echo(
            f"{job['job_id']:<22} {job['created_at']:<21} {job['kind']:<8} {outcome:<12} "
            f"{counts:<40} {shown(job['label'])}"
        )
    return EXIT_OK


@click.command()
@click.argument("job_id")
@click.option("--json", "as_json", is_flag=True, help="Print the job's status as JSON.")
def cancel(job_id: str, as_json: bool) -> int:
    """Stop a job: its items not yet sent end cancelled (`retry` queues them again)."""
    from jobs.job_cancel import cancel_job  # noqa: PLC0415 - only this command cancels

    store = context.job_store()
    if not cancel_job(store, job_id):
        raise UsageError(store.why_missing(job_id))
    current = _status_or_fail(job_id)
    if as_json:
        print_json(current)
    else:
        print_status(current)
        if not current["final"]:
            click.echo(
                "the requests in flight finish as usual; their items end as they come back",
                err=True,
            )
    return EXIT_OK
