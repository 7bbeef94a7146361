"""The one Celery task: deliver one trunk of one job (thin: decode, deliver, reschedule).

Its async part, the delivery, is awaited on the process's event loop (`celery_ext.pool`); the body
turns the outcome into a Celery retry, and fails the item itself only after unexpected errors.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any, NoReturn

from celery import Task
from celery.exceptions import Reject
from celery.signals import worker_shutdown

from celery_ext.pool import async_part, awaited, use_loop
from jobs.queue import DELIVER_TASK, NOOP_TASK
from jobs.states import State
from worker.backoff import backoff_s
from worker.celery_app import app, settings
from worker.delivery import Outcome
from worker.pbx.redaction import redact
from worker.runtime import close_runtime, runtime

log = logging.getLogger(__name__)
# Unexpected failures (Redis unreachable, a bug) are retried this often before the task gives up.
MAX_UNEXPECTED_RETRIES = 20


# The runtime sizes its Redis pool and its limiter's room by the pool's real task slots, which
# `celery worker -c N` (or `trunkctl worker -c N`) may set apart from TRUNKCTL_WORKER_CONCURRENCY.
use_loop(lambda slots: runtime(dataclasses.replace(settings, worker_concurrency=slots)).loop)
worker_shutdown.connect(close_runtime, weak=False)


@async_part(DELIVER_TASK)
async def _deliver(job_id: str, item_no: int, errors: int = 0) -> Outcome:  # noqa: ARG001
    # `errors` is the task body's count (the pool passes every argument of the task).
    return await runtime(settings).delivery.run(job_id, item_no)


@app.task(bind=True, name=DELIVER_TASK, max_retries=None)
def deliver_trunk(
    self: Task[[str, int, int], str | None], job_id: str, item_no: int, errors: int = 0
) -> str | None:
    """Deliver item `item_no` of job `job_id`; reschedules itself while the item is not final.
    `errors`: the unexpected failures of its runs so far (not PBX faults, not stepping aside)."""
    try:
        outcome = awaited(lambda: runtime(settings).await_on_loop(_deliver(job_id, item_no)))
    except Exception as exc:  # noqa: BLE001 - retried, then recorded as the item's failure
        errors += 1
        # Type and redacted message only: a traceback's text is not ours to vouch for.
        reason = redact(f"{type(exc).__name__}: {exc}")
        if errors > MAX_UNEXPECTED_RETRIES:
            return _give_up(job_id, item_no, f"gave up after {errors} errors: {reason}")
        log.warning("job %s item %s: %s; retrying", job_id, item_no, reason)
        delay_s = backoff_s(errors, base_s=settings.backoff_base_s, cap_s=settings.backoff_max_s)
        _run_again(self, delay_s, errors=errors)
    if outcome.run_again_in_s is not None:
        _run_again(self, outcome.run_again_in_s)
    return outcome.state.value if outcome.state else None


def _run_again(task: Task[[str, int, int], str | None], delay_s: float, **kwargs: Any) -> NoReturn:
    """Celery's retry: a new message due in `delay_s`, and this one acked. When the broker cannot
    take the new one, this one goes back to the queue instead of being dropped with it."""
    try:
        raise task.retry(countdown=delay_s, kwargs=kwargs or None)
    except Reject as dropped:
        reason = redact(str(dropped))
        log.warning("could not queue the next run (%s): the task goes back to the queue", reason)
        raise Reject(reason, requeue=True) from None


def _give_up(job_id: str, item_no: int, reason: str) -> str | None:
    """Record the item as failed, so that its job can end (and `retry` can queue it again)."""
    log.error("job %s item %s: %s", job_id, item_no, reason)
    try:
        process = runtime(settings)
        process.await_on_loop(process.delivery.give_up(job_id, item_no, reason))
    except Exception as exc:  # noqa: BLE001 - Redis is out of reach: the task comes back
        failure = redact(f"{type(exc).__name__}: {exc}")
        log.error("job %s item %s: could not record the failure: %s", job_id, item_no, failure)  # noqa: TRY400
        raise Reject(failure, requeue=True) from None
    return State.FAILED.value


@async_part(NOOP_TASK)
async def _nothing(job_id: str, item_no: int) -> None:
    """The async part of `noop`: the same path through the pool as a delivery, minus its work."""


@app.task(name=NOOP_TASK)
def noop(job_id: str, item_no: int) -> None:
    """Does nothing: `bench/` measures the worker's own ceiling (Celery and kombu) with it."""
