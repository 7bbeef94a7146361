"""`trunkctl demo`: the whole pipeline on this machine, with nothing to set up."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import click

from core.embedded_redis import RedisTarget
from core.errors import EXIT_FAILED, EXIT_OK
from jobs.store import JobStatus
from pbxsim import SimulatorThread
from producer.submit import Submitter
from rollout import demo
from rollout.local_workers import LocalWorkers
from trunkctl import context
from trunkctl.batch_commands import submit_batch
from trunkctl.job_commands import wait_for_job
from trunkctl.run_command import note_status_page
from trunkctl.summary import print_failures, print_status

WORKERS = 2


@click.command("demo")
def demo_command() -> int:
    """Roll trunks out to simulated PBXs (a few faulty, one with a wrong secret), retry with the
    secret corrected, and stop everything it started."""
    target = context.target()
    settings = context.settings()
    with _embedded_redis_stopped_after(target), _fleet() as simulator:
        files = demo.write_files(simulator, settings.data_path / "demo")
        _intro(simulator.root_url, files)
        env = {"TRUNKCTL_REDIS_URL": target.url, **demo.DEMO_WORKER_SETTINGS}
        log_dir = settings.data_path / "logs"
        with LocalWorkers(WORKERS, env, log_dir, notify=_say) as workers:
            job_id = _roll_out(files, workers)
            if job_id is None:
                return EXIT_FAILED
            final = _retry(job_id, files)
        _say("\n3/3 stopping the workers and the simulated PBXs")
    _say(f"\ntry next: trunkctl jobs; trunkctl report {job_id}; trunkctl run --help")
    return EXIT_OK if final["outcome"] == "success" else EXIT_FAILED


@contextlib.contextmanager
def _embedded_redis_stopped_after(target: RedisTarget) -> Iterator[None]:
    """The embedded Redis, if the demo started it, stopped when the demo ends, however it
    ends: it leaves no process behind (the data stays on disk)."""
    try:
        yield
    finally:
        if target.embedded is not None and target.started:
            target.embedded.stop()
            _say("    and the embedded Redis this demo started (its data stays on disk)")


@contextlib.contextmanager
def _fleet() -> Iterator[SimulatorThread]:
    simulator = demo.start_fleet()
    try:
        yield simulator
    finally:
        simulator.stop()


def _say(message: str) -> None:
    click.echo(message, err=True)


def _intro(root_url: str, files: demo.DemoFiles) -> None:
    low_ms, high_ms = demo.LATENCY_RANGE_MS
    _say("trunkctl demo: a rollout to simulated PBXs, on this machine, with nothing to set up")
    _say(
        f"  fleet      {demo.PBX_COUNT} simulated Yeastar PBXs at {root_url} "
        f"(answers in {low_ms:g}-{high_ms:g} ms; {len(demo.FLAKY_PBXS)} fail now and then)"
    )
    total = demo.PBX_COUNT * demo.TRUNKS_PER_PBX
    _say(f"  batch      {total} trunks, {demo.TRUNKS_PER_PBX} per PBX, in {files.trunks.parent}")
    _say(f"  inventory  {files.wrong_alias}'s client secret is wrong on purpose")


def _roll_out(files: demo.DemoFiles, workers: LocalWorkers) -> str | None:
    _say(f"\n1/3 rolling out: trunkctl run {_short(files.trunks)} --pbxs {_short(files.inventory)}")
    result = submit_batch(
        (files.trunks,), files.inventory, skip_invalid=False, label="demo", as_json=False
    )
    if result.job_id is None:
        return None
    note_status_page(result.job_id)
    workers.wait_ready()
    _show(wait_for_job(result.job_id, None, quiet=False))
    return result.job_id


def _retry(job_id: str, files: demo.DemoFiles) -> JobStatus:
    _say(
        f"\n2/3 the secret of {files.wrong_alias} corrected, the failed trunks retried: "
        f"trunkctl retry {job_id} --pbxs {_short(files.corrected)}"
    )
    Submitter(context.job_store(), context.task_queue()).retry(job_id, files.corrected)
    final = wait_for_job(job_id, None, quiet=False)
    _show(final)
    return final


def _show(status: JobStatus) -> None:
    print_status(status)
    print_failures(context.job_store(), status)


def _short(path: Path) -> str:
    return path.name
