"""`trunkctl worker`: the same worker as `celery -A worker worker`."""

from __future__ import annotations

import click


@click.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.argument("celery_args", nargs=-1, type=click.UNPROCESSED)
def worker(celery_args: tuple[str, ...]) -> None:
    """Start a Celery worker (extra options go to `celery worker`, e.g. --concurrency 64)."""
    from worker import app  # noqa: PLC0415 - only this command needs the worker code

    app.worker_main(["worker", "--loglevel=INFO", *celery_args])
