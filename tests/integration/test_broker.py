"""The worker's kombu transport against a real Redis, beside kombu's stock one.

What matters: an acked message leaves kombu's "unacked" bookkeeping (in a batch, but always), an
unacked one stays there for kombu to restore, and messages from the stock transport are read.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from kombu import Connection, Exchange, Queue

from worker import broker

QUEUE = Queue("broker-test", Exchange("broker-test", type="direct"), routing_key="broker-test")
DEADLINE_S = 3.0


@pytest.fixture
def client(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


def _publish(redis_url: str, count: int) -> None:
    with Connection(redis_url) as stock:  # what the producer uses
        producer = stock.Producer()
        for number in range(count):
            producer.publish(
                {"n": number}, exchange=QUEUE.exchange, routing_key="broker-test", declare=[QUEUE]
            )


def _receive(connection: Connection, count: int) -> list[Any]:
    queue = QUEUE(connection.default_channel)
    messages = [queue.get(no_ack=False) for _ in range(count)]
    assert all(message is not None for message in messages)
    return messages


def _wait_until(what: str, condition: Any) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not condition():
        assert time.monotonic() < deadline, f"{what} within {DEADLINE_S} s"
        time.sleep(0.01)


def test_acked_messages_leave_the_unacked_hash_unacked_ones_are_restored(
    redis_url: str, client: redis.Redis
) -> None:
    _publish(redis_url, 10)
    with Connection(redis_url, transport="worker.broker:Transport") as connection:
        messages = _receive(connection, 10)
        assert [message.payload["n"] for message in messages] == list(range(10))
        assert client.hlen("unacked") == 10  # recorded as kombu records them
        for message in messages[:6]:
            message.ack()
        _wait_until("6 acks recorded", lambda: client.hlen("unacked") == 4)
    # Closing the channel gives the 4 unacked messages back to the queue, as kombu does.
    assert client.hlen("unacked") == 0
    assert client.llen("broker-test") == 4


def test_a_full_batch_of_acks_is_recorded_at_once(
    redis_url: str, client: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(broker, "ACK_FLUSH_S", 60.0)  # only a full batch flushes
    monkeypatch.setattr(broker, "ACK_BATCH", 4)
    _publish(redis_url, 5)
    with Connection(redis_url, transport="worker.broker:Transport") as connection:
        messages = _receive(connection, 5)
        for message in messages[:3]:
            message.ack()
        assert client.hlen("unacked") == 5  # pending, not lost
        messages[3].ack()
        assert client.hlen("unacked") == 1  # the fourth ack flushed the batch


def test_closing_records_pending_acks_before_restoring(
    redis_url: str, client: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(broker, "ACK_FLUSH_S", 60.0)
    _publish(redis_url, 3)
    with Connection(redis_url, transport="worker.broker:Transport") as connection:
        messages = _receive(connection, 3)
        messages[0].ack()
        messages[1].ack()
    # The two acked messages are not redelivered; the unacked one is.
    assert client.hlen("unacked") == 0
    assert client.llen("broker-test") == 1
