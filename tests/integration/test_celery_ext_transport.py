"""The worker's kombu transport against a real Redis, beside kombu's stock one.

What matters: an acked message leaves kombu's "unacked" bookkeeping (in a batch, but always), an
unacked one stays there for kombu to restore, and messages from the stock transport are read.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import redis
from kombu import Connection, Exchange, Queue

from celery_ext import transport as broker

QUEUE = Queue("broker-test", Exchange("broker-test", type="direct"), routing_key="broker-test")
DEADLINE_S = 3.0


@pytest.fixture
def client(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


def _publish(redis_url: str, count: int, priority: int = 0, first: int = 0) -> None:
    with Connection(redis_url) as stock:  # what the producer uses
        producer = stock.Producer()
        for number in range(first, first + count):
            producer.publish(
                {"n": number}, exchange=QUEUE.exchange, routing_key="broker-test",
                declare=[QUEUE], priority=priority,
            )  # fmt: skip


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
    with Connection(redis_url, transport="celery_ext.transport:Transport") as connection:
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
    with Connection(redis_url, transport="celery_ext.transport:Transport") as connection:
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
    with Connection(redis_url, transport="celery_ext.transport:Transport") as connection:
        messages = _receive(connection, 3)
        messages[0].ack()
        messages[1].ack()
    # The two acked messages are not redelivered; the unacked one is.
    assert client.hlen("unacked") == 0
    assert client.llen("broker-test") == 1


@contextmanager
def _consuming(connection: Connection, prefetch: int) -> Iterator[list[Any]]:
    """A consumer as a worker has one (BRPOP, then the bulk read); the messages received."""
    received: list[Any] = []
    connection.default_channel.basic_qos(prefetch_count=prefetch)
    with connection.Consumer([QUEUE], callbacks=[lambda _body, m: received.append(m)]):
        yield received


def _drain(connection: Connection) -> None:
    """Let the consumer take what it will, until nothing more comes."""
    while True:
        try:
            connection.drain_events(timeout=0.3)
        except TimeoutError:
            return


def _consume(connection: Connection, prefetch: int) -> list[Any]:
    """Consume as a worker does, until nothing more comes."""
    with _consuming(connection, prefetch) as received:
        _drain(connection)
    return received


def test_one_brpop_brings_more_queued_messages_within_the_prefetch_window(
    redis_url: str, client: redis.Redis
) -> None:
    _publish(redis_url, 10)
    client.config_resetstat()
    with Connection(redis_url, transport="celery_ext.transport:Transport") as connection:
        received = _consume(connection, prefetch=4)
        assert [message.payload["n"] for message in received] == [0, 1, 2, 3]  # in order
        assert client.info("commandstats")["cmdstat_brpop"]["calls"] == 1  # one for all four
        assert client.hlen("unacked") == 4  # every one recorded before it was handed over
        assert client.zcard("unacked_index") == 4
        assert client.llen("broker-test") == 6
        for message in received:
            message.ack()
    assert client.hlen("unacked") == 0
    assert client.llen("broker-test") == 6


def test_the_bulk_read_takes_the_front_lane_first(redis_url: str, client: redis.Redis) -> None:
    _publish(redis_url, 3, priority=6)  # queued first, in a lane further back
    _publish(redis_url, 3, priority=0, first=10)
    _publish(redis_url, 3, priority=3, first=20)
    client.config_resetstat()
    with Connection(redis_url, transport="celery_ext.transport:Transport") as connection:
        received = _consume(connection, prefetch=9)
        assert [message.payload["n"] for message in received] == [10, 11, 12, 20, 21, 22, 0, 1, 2]
        assert client.info("commandstats")["cmdstat_brpop"]["calls"] == 1
        for message in received:
            message.ack()
    assert client.hlen("unacked") == 0


def test_the_window_refills_in_batches_not_a_message_per_ack(
    redis_url: str, client: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(broker, "REFILL_AT_LEAST", 4)
    _publish(redis_url, 30)
    with (
        Connection(redis_url, transport="celery_ext.transport:Transport") as connection,
        _consuming(connection, prefetch=16) as received,
    ):
        _drain(connection)
        assert len(received) == 16
        for message in received[:3]:
            message.ack()
        _drain(connection)
        assert len(received) == 16  # three free places: not yet
        client.config_resetstat()
        received[3].ack()
        _drain(connection)
        assert [message.payload["n"] for message in received[16:]] == [16, 17, 18, 19]
        assert client.info("commandstats")["cmdstat_brpop"]["calls"] == 1  # for all four


def test_a_small_window_refills_at_a_quarter(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(broker, "REFILL_AT_LEAST", 32)
    _publish(redis_url, 10)
    with (
        Connection(redis_url, transport="celery_ext.transport:Transport") as connection,
        _consuming(connection, prefetch=4) as received,
    ):
        _drain(connection)
        assert len(received) == 4
        received[0].ack()  # a quarter of 4: one free place is enough
        _drain(connection)
        assert len(received) == 5


def test_messages_read_in_bulk_are_restored_intact(redis_url: str, client: redis.Redis) -> None:
    _publish(redis_url, 5)
    with Connection(redis_url, transport="celery_ext.transport:Transport") as connection:
        assert len(_consume(connection, prefetch=10)) == 5
    # Not acked: kombu gives them back on close, from what the bulk read recorded.
    assert client.hlen("unacked") == 0
    with Connection(redis_url) as stock:  # and the stock transport reads them as it wrote them
        queue = QUEUE(stock.default_channel)
        payloads = [queue.get(no_ack=True).payload["n"] for _ in range(5)]
    assert sorted(payloads) == list(range(5))


def test_a_message_that_is_not_kombus_stops_the_bulk_read(
    redis_url: str, client: redis.Redis
) -> None:
    _publish(redis_url, 2)
    client.lpush("broker-test", b"not a kombu message")  # the newest, so read last
    _publish(redis_url, 1)
    with Connection(redis_url, transport="celery_ext.transport:Transport") as connection:
        channel = connection.default_channel
        channel.basic_qos(prefetch_count=10)
        received: list[Any] = []
        with connection.Consumer([QUEUE], callbacks=[lambda _b, m: received.append(m)]):
            connection.drain_events(timeout=1)
        assert [message.payload["n"] for message in received] == [0, 1]
        assert client.lrange("broker-test", -1, -1) == [b"not a kombu message"]  # left in place
        assert client.hlen("unacked") == 2
