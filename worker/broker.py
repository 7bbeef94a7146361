"""kombu's Redis transport, made cheaper per message for a worker that runs many small tasks.

kombu keeps every delivered message in an "unacked" hash and index until it is acked, so that a
dead worker's messages come back (the visibility timeout). Per message it makes two round trips
for that bookkeeping, each through a new redis-py client object and a MULTI/EXEC transaction;
with redis-py 8, building the client costs more than the round trip. This transport:
- builds that client once per channel (redis-py clients are safe to share between threads: each
  command takes a connection from the pool and gives it back);
- sends the two commands of each step as a plain pipeline, without MULTI/EXEC (Redis runs them
  back to back either way);
- removes acked messages from the unacked hash in batches: every ACK_BATCH acks or every
  ACK_FLUSH_S, and when the channel closes. An ack only ever comes late, never early: if the
  worker dies before a flush, those messages come back after the visibility timeout, and their
  tasks find their items final and do nothing.
Measured with py-spy on `bench/delivery.py uniform`, kombu's bookkeeping was about a fifth of the
worker's CPU per trunk before this transport.

Messages, keys and the restore protocol are kombu's own: producers use the plain `redis://`
transport, and other workers may run the stock one.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from typing import Any

from kombu.transport import redis as kombu_redis
from kombu.transport import virtual

log = logging.getLogger(__name__)

ACK_BATCH = 64
ACK_FLUSH_S = 0.05


class QoS(kombu_redis.QoS):
    """kombu's Redis QoS with plain pipelines and batched removal of acked messages."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._acked: list[Any] = []
        self._acked_lock = threading.Lock()
        self._closed = threading.Event()
        self._flusher: threading.Thread | None = None

    @contextmanager
    def pipe_or_acquire(self, pipe: Any = None, client: Any = None) -> Iterator[Any]:
        """The given pipeline, else a plain (non-transactional) one."""
        if pipe is not None:
            yield pipe
            return
        with self.channel.conn_or_acquire(client) as connection:  # type: ignore[attr-defined]
            yield connection.pipeline(transaction=False)

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

    def close(self) -> None:
        """Record pending acks before kombu restores what is still unacked, then close."""
        qos = getattr(self, "_qos", None)  # only if kombu created it
        if isinstance(qos, QoS):
            qos.close()
        self.__dict__.pop("_bookkeeping_client", None)  # its pool is about to be disconnected
        super().close()


class Transport(kombu_redis.Transport):
    """kombu's Redis transport with the channel above."""

    Channel = Channel
