"""The one Celery task: deliver one trunk of one job (thin: decode, deliver, reschedule).

Its async part, the delivery itself, is awaited by `worker.async_pool` on the process's event
loop; the task body then records nothing more, it only turns the outcome into a Celery retry.
"""

from __future__ import annotations

import logging

from celery import Task

from jobs.queue import DELIVER_TASK, NOOP_TASK
from worker.async_pool import async_part, awaited, use_loop
from worker.backoff import backoff_s
from worker.celery_app import app, settings
from worker.delivery import Outcome
from worker.pbx.redaction import redact
from worker.runtime import runtime

log = logging.getLogger(__name__)
# Unexpected failures (Redis unreachable, a bug) are retried this often before the task gives up.
MAX_UNEXPECTED_RETRIES = 20


use_loop(lambda: runtime(settings).loop)


@async_part(DELIVER_TASK)
async def _deliver(job_id: str, item_no: int) -> Outcome:
    return await runtime(settings).delivery.run(job_id, item_no)


@app.task(bind=True, name=DELIVER_TASK, max_retries=None)
def deliver_trunk(self: Task[[str, int], str | None], job_id: str, item_no: int) -> str | None:
    """Deliver item `item_no` of job `job_id`; reschedules itself while the item is not final."""
    try:
        outcome = awaited(lambda: runtime(settings).run(_deliver(job_id, item_no)))
    except Exception as exc:
        retries = self.request.retries or 0
        if retries >= MAX_UNEXPECTED_RETRIES:
            raise
        # Type and redacted message only: a traceback's text is not ours to vouch for.
        reason = redact(f"{type(exc).__name__}: {exc}")
        log.warning("job %s item %s: %s; retrying", job_id, item_no, reason)
        delay_s = backoff_s(
            retries + 1, base_s=settings.backoff_base_s, cap_s=settings.backoff_max_s
        )
        raise self.retry(countdown=delay_s) from None
    if outcome.run_again_in_s is not None:
        raise self.retry(countdown=outcome.run_again_in_s)
    return outcome.state.value if outcome.state else None


@async_part(NOOP_TASK)
async def _nothing(job_id: str, item_no: int) -> None:
    """The async part of `noop`: the same path through the pool as a delivery, minus its work."""


@app.task(name=NOOP_TASK)
def noop(job_id: str, item_no: int) -> None:
    """Does nothing: `bench/` measures the worker's own ceiling (Celery and kombu) with it."""
