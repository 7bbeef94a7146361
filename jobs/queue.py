"""Queuing delivery tasks by name, pipelined: the producer imports neither the worker nor Celery.

Tasks go into lanes by their rank among their PBX's tasks of one submit or retry: a PBX's first
tasks in the front lane, its later ones further back. The lanes are the priority lists of kombu's
Redis transport, which a worker drains front lane first. So the first tasks of a job that comes
later (a retry, a few trunks for another customer) are taken up before the long tail of a big
rollout queued earlier, instead of waiting hours behind it; within one job, the order stays the
round-robin order the producer queues in.

A task is a Celery task message (protocol 2, docs.celeryq.dev/en/stable/internals/protocol.html)
in the JSON envelope of kombu's Redis transport, pushed onto the queue's list as Celery's own
`send_task` would push it (tests/integration/test_queue.py holds the two side by side). Building
it here costs a few microseconds a task where `send_task` costs a tenth of a millisecond, and the
CLI does not spend its start-up importing Celery: both count in a rollout's makespan.
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import socket
import uuid
from collections.abc import Iterable, Iterator
from typing import TypeVar

import redis

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
# How kombu's Redis transport names the list of a priority step: queue + sep + step (step 0: queue).
KOMBU_PRIORITY_SEP = "\x06\x16"
# What protocol 2 puts in the body after the arguments: no callbacks, no chain, no chord.
NO_EMBED = {"callbacks": None, "errbacks": None, "chain": None, "chord": None}


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
    return f"{queue}{KOMBU_PRIORITY_SEP}{lane_number}" if lane_number else queue


def _origin() -> str:
    # As Celery names a process that is not a worker (celery.utils.nodenames.anon_nodename).
    return f"gen{os.getpid()}@{socket.gethostname()}"


def task_message(
    task_name: str,
    args: tuple[str, int],
    queue: str,
    *,
    origin: str,
    reply_to: str,
    priority: int = 0,
) -> str:
    """One task message as kombu's Redis transport stores it, queued for `queue` (its lane is
    `priority`: kombu restores an unacked message to the lane its priority names)."""
    task_id = str(uuid.uuid4())
    body = json.dumps([list(args), {}, NO_EMBED]).encode()
    envelope = {
        "body": base64.b64encode(body).decode(),
        "content-encoding": "utf-8",
        "content-type": "application/json",
        "headers": {
            "lang": "py", "task": task_name, "id": task_id, "shadow": None, "eta": None,
            "expires": None, "group": None, "group_index": None, "retries": 0,
            "timelimit": [None, None], "root_id": task_id, "parent_id": None,
            "argsrepr": repr(args), "kwargsrepr": "{}", "origin": origin, "ignore_result": None,
            "replaced_task_nesting": 0, "stamped_headers": None, "stamps": {},
        },
        "properties": {
            "correlation_id": task_id, "reply_to": reply_to, "delivery_mode": 2,
            "delivery_info": {"exchange": "", "routing_key": queue}, "priority": priority,
            "body_encoding": "base64", "delivery_tag": str(uuid.uuid4()),
        },
    }  # fmt: skip
    return json.dumps(envelope)


class TaskQueue:
    """The Celery queue the workers drain, on the Redis broker."""

    def __init__(self, client: redis.Redis, name: str) -> None:
        self.client = client
        self.name = name
        self._origin = _origin()
        self._reply_to = str(uuid.uuid4())  # Celery's producer id; unused (results are ignored)

    def publish(self, tasks: Iterable[QueuedTask], task_name: str = DELIVER_TASK) -> int:
        """Queue one task per (job id, item number, rank), in order within each lane, in batches
        (see `batches`)."""
        return sum(self.push(batch, task_name) for batch in batches(tasks))

    def push(self, tasks: list[QueuedTask], task_name: str = DELIVER_TASK) -> int:
        """Queue these tasks, in order within each lane, in one round trip; how many."""
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
