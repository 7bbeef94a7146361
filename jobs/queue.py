"""Queuing delivery tasks by name, pipelined: the producer imports neither the worker nor Celery.

Tasks go into lanes (kombu's priority lists, drained front first) by their rank among their
PBX's tasks of one submit or retry, so that the first tasks of a later job are not stuck behind the
long tail of a big rollout. A task message is built by hand (celery_ext.messages), or sent by
`send_task` on the stock path.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterable, Iterator
from typing import TypeVar

import redis

from celery_ext.messages import StockSender, origin, priority_list, task_message

T = TypeVar("T")
# (job id, item number, rank of the item among its PBX's items in this submit or retry)
QueuedTask = tuple[str, int, int]

DELIVER_TASK = "trunkctl.deliver_trunk"
NOOP_TASK = "trunkctl.noop"
PUBLISH_BATCH = 1000
# The first tasks go out in a small batch, so workers start while the rest is being sent.
FIRST_BATCH = 100
# (rank limit, lane): ranks below 4 go to lane 0, below 32 to lane 3, below 256 to 6, the rest
# to 9. The lanes are kombu's default priority steps; for Redis, 0 is the front.
LANES = ((4, 0), (32, 3), (256, 6))
LAST_LANE = 9
LANE_NUMBERS = (*(number for _, number in LANES), LAST_LANE)


def batches(items: Iterable[T]) -> Iterator[list[T]]:
    """`items` in lists: FIRST_BATCH of them first, so workers start while the rest is sent, then
    PUBLISH_BATCH at a time."""
    pending, size = iter(items), FIRST_BATCH
    while batch := list(itertools.islice(pending, size)):
        yield batch
        size = PUBLISH_BATCH


def lane(rank: int) -> int:
    """The lane (kombu priority step) of a task of this rank among its PBX's tasks."""
    for limit, number in LANES:
        if rank < limit:
            return number
    return LAST_LANE


def lane_key(queue: str, lane_number: int) -> str:
    """The Redis list of one lane of a queue, as kombu names it."""
    return priority_list(queue, lane_number)


class TaskQueue:
    """The Celery queue the workers drain, on the Redis broker."""

    def __init__(
        self, client: redis.Redis, name: str, stock_sender: StockSender | None = None
    ) -> None:
        self.client = client
        self.name = name
        self._stock = stock_sender  # the stock path: Celery's send_task, one by one
        self._origin = origin()
        self._reply_to = str(uuid.uuid4())  # Celery's producer id; unused (results are ignored)

    def publish(self, tasks: Iterable[QueuedTask], task_name: str = DELIVER_TASK) -> int:
        """Queue one task per (job id, item number, rank), in order within each lane, in batches
        (see `batches`)."""
        return sum(self.push(batch, task_name) for batch in batches(tasks))

    def push(self, tasks: list[QueuedTask], task_name: str = DELIVER_TASK) -> int:
        """Queue these tasks, in order within each lane, in one round trip; how many."""
        if self._stock is not None:
            for job_id, item_no, rank in tasks:
                self._stock.send(task_name, (job_id, item_no), self.name, lane(rank))
            return len(tasks)
        by_lane: dict[int, list[str]] = {}
        for job_id, item_no, rank in tasks:
            number = lane(rank)
            by_lane.setdefault(number, []).append(
                task_message(
                    task_name, (job_id, item_no), self.name, origin=self._origin,
                    reply_to=self._reply_to, priority=number,
                )
            )  # fmt: skip
        with self.client.pipeline(transaction=False) as pipe:
            for number, messages in by_lane.items():
                pipe.lpush(lane_key(self.name, number), *messages)  # popped from the right
            pipe.execute()
        return len(tasks)

    def length(self) -> int:
        """Tasks waiting in the queue, every lane counted."""
        with self.client.pipeline(transaction=False) as pipe:
            for number in LANE_NUMBERS:
                pipe.llen(lane_key(self.name, number))
            return sum(pipe.execute())
