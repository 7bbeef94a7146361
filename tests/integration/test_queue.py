"""The producer's task messages against Celery's own: same envelope, same headers, same order."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from celery import Celery
from kombu.transport import redis as kombu_redis

from jobs.queue import DELIVER_TASK, FIRST_BATCH, LANE_NUMBERS, TaskQueue, lane_key

# Per message or per process: ids, the delivery tag, the producer's name and reply queue.
VARYING_HEADERS = ("id", "root_id", "origin")
VARYING_PROPERTIES = ("correlation_id", "reply_to", "delivery_tag")


@pytest.fixture
def client(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


def _queued(client: redis.Redis, queue: str) -> list[dict[str, Any]]:
    # The worker pops from the right: the oldest message is last in the list.
    return [json.loads(raw) for raw in reversed(client.lrange(queue, 0, -1))]


def _without_varying(message: dict[str, Any]) -> dict[str, Any]:
    headers = {k: v for k, v in message["headers"].items() if k not in VARYING_HEADERS}
    properties = {k: v for k, v in message["properties"].items() if k not in VARYING_PROPERTIES}
    return {**message, "headers": headers, "properties": properties}


def test_a_message_is_the_one_celery_send_task_queues(client: redis.Redis, redis_url: str) -> None:
    app = Celery("reference", broker=redis_url, set_as_current=False)
    app.send_task(DELIVER_TASK, args=("20261126-101500-3f9a", 7), queue="trunkctl")
    [celery_made] = _queued(client, "trunkctl")
    client.delete("trunkctl")
    TaskQueue(client, "trunkctl").publish([("20261126-101500-3f9a", 7, 0)])
    [ours] = _queued(client, "trunkctl")
    assert _without_varying(ours) == _without_varying(celery_made)
    assert base64.b64decode(ours["body"]) == base64.b64decode(celery_made["body"])
    for message in (ours, celery_made):
        headers, properties = message["headers"], message["properties"]
        assert headers["id"] == headers["root_id"] == properties["correlation_id"]
        assert properties["delivery_tag"] != headers["id"]
    assert ours["headers"]["origin"].startswith("gen")


def test_tasks_are_queued_in_order_with_their_own_ids(client: redis.Redis) -> None:
    tasks = [("job", n) for n in range(1, FIRST_BATCH + 1500)]
    assert TaskQueue(client, "ordered").publish((*task, 0) for task in tasks) == len(tasks)
    messages = _queued(client, "ordered")
    bodies = [json.loads(base64.b64decode(m["body"])) for m in messages]
    assert [tuple(args) for args, _kwargs, _embed in bodies] == tasks
    assert len({m["headers"]["id"] for m in messages}) == len(tasks)
    assert len({m["properties"]["delivery_tag"] for m in messages}) == len(tasks)


def test_later_ranks_go_to_lanes_further_back_as_celery_would_queue_their_priority(
    client: redis.Redis, redis_url: str
) -> None:
    # The lanes are kombu's priority steps, which the worker drains in this order.
    assert list(LANE_NUMBERS) == kombu_redis.PRIORITY_STEPS
    app = Celery("reference", broker=redis_url, set_as_current=False)
    app.send_task(DELIVER_TASK, args=("job", 1), queue="laned", priority=3)
    [celery_made] = _queued(client, lane_key("laned", 3))
    client.delete(lane_key("laned", 3))
    ranks = {1: 0, 2: 3, 3: 4, 4: 31, 5: 32, 6: 255, 7: 256, 8: 5000}
    queue = TaskQueue(client, "laned")
    assert queue.publish(("job", item_no, rank) for item_no, rank in ranks.items()) == 8
    assert queue.length() == 8
    in_lanes = {
        number: [json.loads(base64.b64decode(m["body"]))[0][1] for m in _queued(client, key)]
        for number in (0, 3, 6, 9)
        if (key := lane_key("laned", number))
    }
    assert in_lanes == {0: [1, 2], 3: [3, 4], 6: [5, 6], 9: [7, 8]}
    ours = _queued(client, lane_key("laned", 3))[0]
    assert ours["properties"]["priority"] == celery_made["properties"]["priority"] == 3


def test_nothing_to_queue_sends_nothing(client: redis.Redis) -> None:
    assert TaskQueue(client, "empty").publish([]) == 0
    assert not client.exists("empty")
