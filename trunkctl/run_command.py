"""`trunkctl run`: validate, submit, deliver with local workers, and summarise, in one command."""

from __future__ import annotations

import io
from pathlib import Path

import click

from api import serving_url
from core.errors import EXIT_FAILED, UsageError
from jobs.report_csv import write_report_csv
from jobs.store import JobStatus
from rollout.local_workers import LocalWorkers
from trunkctl import context
from trunkctl.batch_commands import (
    LABEL,
    PBXS_OPTIONAL,
    SKIP_INVALID,
    UPDATE_EXISTING,
    submit_batch,
)
from trunkctl.job_commands import status_exit_code, wait_for_job
from trunkctl.output import print_json
from trunkctl.summary import print_failures, print_status


@click.command()
@click.argument("trunk_files", nargs=-1, type=click.Path(dir_okay=False, path_type=Path))
@PBXS_OPTIONAL
@click.option(
    "--workers", type=click.IntRange(0, 64), default=2, show_default=True,
    help="Local worker processes to deliver with; 0: only the workers already running on the "
    "same Redis (docker compose, other machines) deliver.",
)  # fmt: skip
@SKIP_INVALID
@LABEL
@UPDATE_EXISTING
@click.option(
    "--resume", "resume_job", metavar="JOB",
    help="Finish a job an earlier run left (Ctrl-C): no files, no new job.",
)  # fmt: skip
@click.option(
    "--report", "report_path", type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Where to write the report CSV [default: reports/JOB.csv in the data directory].",
)  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print the final status as JSON.")
def run(
    *, trunk_files: tuple[Path, ...], pbxs_file: Path | None, workers: int, skip_invalid: bool,
    label: str, update_existing: bool, resume_job: str | None, report_path: Path | None,
    as_json: bool,
) -> int:  # fmt: skip
    """The one-command rollout: validate and submit TRUNK_FILES, deliver them with local
    workers, show the progress, then a summary; exit 0 all delivered, 1 some failed."""
    if resume_job and trunk_files:
        raise UsageError("--resume continues a job: give no trunk files with it")
    if not resume_job and not trunk_files:
        raise UsageError("give the trunk CSV files to roll out (or --resume JOB)")
    store = context.job_store()
    if resume_job and store.status(resume_job) is None:
        raise UsageError(store.why_missing(resume_job))
    env = {"TRUNKCTL_REDIS_URL": context.target().url}
    log_dir = context.settings().data_path / "logs"
    with LocalWorkers(workers, env, log_dir, notify=_note) as local:
        job_id = resume_job or _submit(
            trunk_files, pbxs_file, skip_invalid=skip_invalid, label=label, as_json=as_json,
            update_existing=update_existing,
        )  # fmt: skip
        if job_id is None:
            return EXIT_FAILED
        local.wait_ready()
        interrupted = (
            f"interrupted: the local workers stopped; job {job_id} stays in Redis, and "
            f"'trunkctl run --resume {job_id}' (or any worker) finishes it"
        )
        status = wait_for_job(job_id, None, quiet=as_json, interrupted=interrupted)
    path = _write_report(job_id, report_path)
    if as_json:
        print_json({**status, "report": str(path)})
    else:
        _print_summary(status, path)
    return status_exit_code(status)


def _note(message: str) -> None:
    click.echo(message, err=True)


def _submit(
    trunk_files: tuple[Path, ...], pbxs_file: Path | None, *, skip_invalid: bool, label: str,
    as_json: bool, update_existing: bool,
) -> str | None:  # fmt: skip
    result = submit_batch(
        trunk_files, pbxs_file, skip_invalid=skip_invalid, label=label, as_json=as_json,
        update_existing=update_existing,
    )  # fmt: skip
    if result.job_id is not None and not as_json:
        rejected = f", {result.rejected} rejected" if result.rejected else ""
        _note(f"job {result.job_id}: {result.queued} trunks queued{rejected}")
        note_status_page(result.job_id)
    return result.job_id


def note_status_page(job_id: str) -> None:
    """Where to watch the job in a browser, when `trunkctl serve` runs on the same Redis."""
    url = serving_url(context.job_store().client)
    if url:
        _note(f"status page: {url.rstrip('/')}/#job/{job_id}")


def _write_report(job_id: str, path: Path | None) -> Path:
    """The job's report CSV, written where asked or in the data directory."""
    path = path or context.settings().data_path / "reports" / f"{job_id}.csv"
    buffer = io.StringIO()
    write_report_csv(context.job_store().items(job_id), buffer)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(buffer.getvalue(), encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"{path}: {exc.strerror or exc}") from None
    return path


def _print_summary(status: JobStatus, report: Path) -> None:
    click.echo()
    print_status(status)
    print_failures(context.job_store(), status)
    click.echo(f"report   {report}")
