"""Queuing delivery tasks by name, pipelined: the producer never imports the worker."""

from __future__ import annotations

import itertools
from collections.abc import Iterable

from celery import Celery

DELIVER_TASK = "trunkctl.deliver_trunk"
NOOP_TASK = "trunkctl.noop"
PUBLISH_BATCH = 1000
# The first tasks go out in a small batch, so workers start while the rest is being sent.
FIRST_BATCH = 100


def client_app(redis_url: str) -> Celery:
    """A Celery app that only sends tasks (no worker configuration, no task code)."""
    return Celery("trunkctl-producer", broker=redis_url, set_as_current=False)


def publish(
    app: Celery, queue: str, tasks: Iterable[tuple[str, int]], task_name: str = DELIVER_TASK
) -> int:
    """Queue one delivery task per (job id, item number), in order, in pipelined batches."""
    count = 0
    pending = iter(tasks)
    with app.producer_or_acquire() as producer:
        for size in (FIRST_BATCH, None):
            with producer.batch(max_size=PUBLISH_BATCH):
                for job_id, item_no in itertools.islice(pending, size):
                    app.send_task(task_name, args=(job_id, item_no), queue=queue, producer=producer)
                    count += 1
    return count
