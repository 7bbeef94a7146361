"""Celery task messages built by hand, as kombu's Redis transport stores them.

Far cheaper than Celery's `send_task`, and the CLI need not import Celery. Private names relied on
(Celery 5.7, kombu 5.7):
- Celery's task message protocol 2 (docs.celeryq.dev/en/stable/internals/protocol.html): the
  headers, and the body `[args, kwargs, embed]`;
- kombu's Redis transport: the JSON envelope it pushes onto a list (`body` base64-encoded,
  `properties.delivery_info`, `delivery_tag`, `priority`), and the name of a priority step's list,
  queue + `\\x06\\x16` + step (`kombu.transport.redis.Channel._q_for_pri`).
`tests/integration/test_queue.py` holds these messages side by side with what `send_task` queues.
The stock path (TRUNKCTL_STOCK_CELERY) sends through `send_task` instead (`StockSender`).
"""

from __future__ import annotations

import base64
import json
import os
import socket
import uuid
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

# How kombu's Redis transport names the list of a priority step: queue + sep + step (step 0: queue).
KOMBU_PRIORITY_SEP = "\x06\x16"
# What protocol 2 puts in the body after the arguments: no callbacks, no chain, no chord.
NO_EMBED = {"callbacks": None, "errbacks": None, "chain": None, "chord": None}


def broker_url(redis_url: str) -> str:
    """kombu's spelling of a Redis URL: a unix socket is `redis+socket://` there, with the
    database as its `virtual_host` (redis-py, the CLI and the worker's own calls read
    `unix:///path?db=N`); any other URL is the same for both."""
    parts = urlsplit(redis_url)
    if parts.scheme != "unix":
        return redis_url
    query = dict(parse_qsl(parts.query))
    database = query.pop("db", "0")
    query["virtual_host"] = database
    return f"redis+socket://{parts.netloc}{parts.path}?{urlencode(query)}"


def priority_list(queue: str, step: int) -> str:
    """The Redis list that holds a queue's messages of one priority step, as kombu names it."""
    return f"{queue}{KOMBU_PRIORITY_SEP}{step}" if step else queue


def origin() -> str:
    """What Celery calls a process that is not a worker (celery.utils.nodenames.anon_nodename)."""
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
    """One task message as kombu's Redis transport stores it, queued for `queue` in priority step
    `priority` (kombu restores an unacked message to the step its priority names)."""
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


class StockSender:
    """The stock path: tasks sent through Celery's own `send_task` (slower; no private names)."""

    def __init__(self, redis_url: str) -> None:
        from celery import Celery  # noqa: PLC0415 - only the stock path loads Celery

        self._app = Celery("trunkctl-producer", broker=broker_url(redis_url), set_as_current=False)
        self._app.conf.task_serializer = "json"

    def send(self, task_name: str, args: tuple[str, int], queue: str, priority: int) -> None:
        """Send one task to `queue` with `priority` (kombu's priority step)."""
        options: dict[str, Any] = {"queue": queue, "priority": priority}
        self._app.send_task(task_name, args=args, **options)

    def close(self) -> None:
        """Let go of the broker connections."""
        self._app.close()
