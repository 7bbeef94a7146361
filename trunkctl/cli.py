"""The `trunkctl` command line: each command parses its options and delegates."""

from __future__ import annotations

import click

from pbxsim.cli import simulate
from producer.cli import submit, validate
from trunkctl.errors import run_guarded
from trunkctl.job_commands import report, status


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="trunkctl")
def cli() -> None:
    """Roll SIP trunks out to fleets of Yeastar P-Series PBXs."""


@cli.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.argument("celery_args", nargs=-1, type=click.UNPROCESSED)
def worker(celery_args: tuple[str, ...]) -> None:
    """Start a Celery worker (options after `--` go to `celery worker`)."""
    from worker import app  # noqa: PLC0415 - only this command needs the worker code

    app.worker_main(["worker", "--loglevel=INFO", *celery_args])


for command in (validate, submit, status, report, simulate):
    cli.add_command(command)


def main() -> None:
    """Console-script entry point."""
    run_guarded(cli)
