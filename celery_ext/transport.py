"""kombu's Redis transport, made cheaper per message for a worker of many small tasks.

kombu keeps every delivered message in an "unacked" hash and index until it is acked, so that a
dead worker's messages come back. This transport keeps that bookkeeping, cheaper:
- one redis-py client per channel, not one per step (clients are safe to share between threads);
- plain pipelines, without MULTI/EXEC (Redis runs the two commands back to back either way);
- acks removed in batches (ACK_BATCH, ACK_FLUSH_S, and at close): an ack only ever comes late,
  and a task whose message comes back finds its item final;
- after each BRPOP, up to READ_MORE queued messages popped and recorded as unacked by one Lua
  script: never a moment when a message is neither queued nor unacked;
- a read once REFILL_AT_LEAST places of the prefetch window are free, not one BRPOP per task.
Messages, keys and the restore protocol are kombu's own: producers use the plain `redis://`
transport, and other workers may use the stock one (TRUNKCTL_STOCK_CELERY).

Private names relied on (kombu 5.7): `kombu.transport.redis.QoS` (`pipe_or_acquire`, `append`,
`ack`, `unacked_key`, `unacked_index_key`, the unacked hash's value layout `[message, exchange,
routing_key]`), `virtual.QoS` (`_delivered`, `_dirty`, `prefetch_count`, `append`, `ack`),
`kombu.transport.redis.Channel` (`_brpop_read`, `_q_for_pri`, `_create_client`, `conn_or_acquire`,
`priority_steps`, `active_queues`, `_qos`, `_closing`) and `connection._deliver`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from typing import Any, cast

from kombu.transport import redis as kombu_redis
from kombu.transport import virtual
from kombu.utils.encoding import bytes_to_str
from kombu.utils.json import loads

from core.lua import lua

log = logging.getLogger(__name__)

ACK_BATCH = 64
ACK_FLUSH_S = 0.05
READ_MORE = 32
REFILL_AT_LEAST = 32

# KEYS: unacked index, unacked hash, then the queue's lists (priority steps), front one first.
# ARGV: how many at most, now (epoch seconds). Pops messages, front list first, and records each
# as kombu's QoS.append would: index scored by time, hash value [message, exchange, routing key]
# (the message's own JSON text, untouched). A message that is not kombu's JSON goes back where
# it was, for kombu's own path to deal with.
POP_AND_RECORD_LUA = lua(__file__, "pop_and_record")


class QoS(kombu_redis.QoS):
    """kombu's Redis QoS with plain pipelines and batched removal of acked messages."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._acked: list[Any] = []
        self._acked_lock = threading.Lock()
        self._closed = threading.Event()
        self._flusher: threading.Thread | None = None
        self._recorded: set[Any] = set()  # delivery tags POP_AND_RECORD_LUA recorded already

    @contextmanager
    def pipe_or_acquire(self, pipe: Any = None, client: Any = None) -> Iterator[Any]:
        """The given pipeline, else a plain (non-transactional) one."""
        if pipe is not None:
            yield pipe
            return
        with self.channel.conn_or_acquire(client) as connection:  # type: ignore[attr-defined] # kombu
            yield connection.pipeline(transaction=False)

    def append(self, message: Any, delivery_tag: Any) -> None:
        """Record a delivered message as unacked (unless the bulk read has already)."""
        if delivery_tag in self._recorded:
            self._recorded.discard(delivery_tag)
            virtual.QoS.append(self, message, delivery_tag)
        else:
            super().append(message, delivery_tag)

    def can_consume(self) -> bool:
        """Whether to read more: once REFILL_AT_LEAST places (at most a quarter) of the prefetch
        window are free, so that one BRPOP and one bulk read fetch many messages."""
        if not self.prefetch_count:
            return True
        in_hand = len(self._delivered or ()) - len(self._dirty or ())
        refill_at = max(1, min(REFILL_AT_LEAST, self.prefetch_count // 4))
        return self.prefetch_count - in_hand >= refill_at

    def room(self) -> int:
        """How many more messages the prefetch window takes (READ_MORE when unlimited)."""
        if not self.prefetch_count:
            return READ_MORE
        in_hand = len(self._delivered or ()) - len(self._dirty or ())
        return min(READ_MORE, self.prefetch_count - in_hand)

    def ack(self, delivery_tag: Any) -> None:
        """Ack now for the worker (its prefetch window moves at once); in Redis, in a batch."""
        with self._acked_lock:
            self._acked.append(delivery_tag)
            full = len(self._acked) >= ACK_BATCH
            if self._flusher is None and not self._closed.is_set():
                self._flusher = threading.Thread(
                    target=self._flush_periodically, name="kombu-acks", daemon=True
                )
                self._flusher.start()
        if full:
            self.flush_acks()
        virtual.QoS.ack(self, delivery_tag)

    def flush_acks(self) -> None:
        """Remove every acked message so far from the unacked hash and index."""
        with self._acked_lock:
            tags, self._acked = self._acked, []
        if not tags:
            return
        try:
            with self.pipe_or_acquire() as pipe:
                pipe.zrem(self.unacked_index_key, *tags).hdel(self.unacked_key, *tags).execute()
        except Exception as exc:  # noqa: BLE001 - the messages come back and their tasks no-op
            log.warning("recording %d acks failed: %s", len(tags), type(exc).__name__)

    def _flush_periodically(self) -> None:
        while not self._closed.wait(ACK_FLUSH_S):
            self.flush_acks()

    def close(self) -> None:
        """Flush the last acks and stop flushing."""
        self._closed.set()
        self.flush_acks()


class Channel(kombu_redis.Channel):
    """A Redis channel with one bookkeeping client and the QoS above."""

    QoS = QoS

    @cached_property
    def _bookkeeping_client(self) -> Any:
        return self._create_client()  # type: ignore[attr-defined] # not in kombu's stubs

    @contextmanager
    def conn_or_acquire(self, client: Any = None) -> Iterator[Any]:
        """The given client, else the channel's bookkeeping client."""
        yield client or self._bookkeeping_client

    @cached_property
    def _pop_and_record(self) -> Any:
        return self._bookkeeping_client.register_script(POP_AND_RECORD_LUA)

    def _brpop_read(self, **options: Any) -> Any:
        delivered = super()._brpop_read(**options)  # type: ignore[misc] # one message, or Empty
        if delivered and not getattr(self, "_closing", False):
            self._read_more()
        return delivered

    def _read_more(self) -> None:
        """Deliver messages already queued, popped and recorded in one round trip."""
        qos = cast(QoS, self.qos)
        for queue in list(self.active_queues):
            room = qos.room()
            if room <= 0:
                return
            lists = [
                self._q_for_pri(queue, step)  # type: ignore[attr-defined] # not in kombu's stubs
                for step in self.priority_steps
            ]
            popped = self._pop_and_record(
                keys=[self.unacked_index_key, self.unacked_key, *lists], args=[room, time.time()]
            )
            for raw in popped:
                message = loads(bytes_to_str(raw))
                qos._recorded.add(message["properties"]["delivery_tag"])
                self.connection._deliver(message, queue)

    def close(self) -> None:
        """Record pending acks before kombu restores what is still unacked, then close."""
        qos = getattr(self, "_qos", None)  # only if kombu created it
        if isinstance(qos, QoS):
            qos.close()
        # The bookkeeping client stays (kombu restores unacked messages while it closes, and later
        # acks come through this channel): a closed channel could not make the pool of a new one.
        super().close()


class Transport(kombu_redis.Transport):
    """kombu's Redis transport with the channel above."""

    Channel = Channel
