"""Queuing delivery tasks by name, pipelined: the producer imports neither the worker nor Celery.

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

DELIVER_TASK = "trunkctl.deliver_trunk"
NOOP_TASK = "trunkctl.noop"
PUBLISH_BATCH = 1000
# The first tasks go out in a small batch, so workers start while the rest is being sent.
FIRST_BATCH = 100
# What protocol 2 puts in the body after the arguments: no callbacks, no chain, no chord.
NO_EMBED = {"callbacks": None, "errbacks": None, "chain": None, "chord": None}


def batches(items: Iterable[T]) -> Iterator[list[T]]:
    """`items` in lists: FIRST_BATCH of them first, so workers start while the rest is sent, then
    PUBLISH_BATCH at a time."""
    pending, size = iter(items), FIRST_BATCH
    while batch := list(itertools.islice(pending, size)):
        yield batch
        size = PUBLISH_BATCH


def _origin() -> str:
    # As Celery names a process that is not a worker (celery.utils.nodenames.anon_nodename).
    return f"gen{os.getpid()}@{socket.gethostname()}"


def task_message(
    task_name: str, args: tuple[str, int], queue: str, *, origin: str, reply_to: str
) -> str:
    """One task message as kombu's Redis transport stores it, queued for `queue`."""
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
            "delivery_info": {"exchange": "", "routing_key": queue}, "priority": 0,
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

    def publish(self, tasks: Iterable[tuple[str, int]], task_name: str = DELIVER_TASK) -> int:
        """Queue one task per (job id, item number), in order, in batches (see `batches`)."""
        return sum(self.push(batch, task_name) for batch in batches(tasks))

    def push(self, tasks: list[tuple[str, int]], task_name: str = DELIVER_TASK) -> int:
        """Queue these tasks, in order, in one command; how many."""
        messages = [
            task_message(task_name, task, self.name, origin=self._origin, reply_to=self._reply_to)
            for task in tasks
        ]
        if messages:
            self.client.lpush(self.name, *messages)  # the worker pops from the right: in order
        return len(messages)
