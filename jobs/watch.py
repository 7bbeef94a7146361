"""Watching a job until it is final: `status --wait`, a rollout (`trunkctl run`) and `demo`.

It rides out a Redis outage of up to OUTAGE_LIMIT_S, saying so, and returns as soon as the job is
announced final (pub/sub), polling besides for a missed announcement or an ACL without channels.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import redis

from core import keys
from core.errors import TrunkctlError, UsageError
from jobs.store import SUBMIT_CUT_SHORT, JobStatus, JobStore

OUTAGE_LIMIT_S = 60.0
OUTAGE_POLL_S = 1.0
_LOST = (redis.ConnectionError, redis.TimeoutError)


class JobVanishedError(TrunkctlError):
    """Raised when the job watched is no longer in the store (Redis lost it, most likely)."""


@dataclass
class WatchEvents:
    """What a watch reports as it goes: each status read, and Redis going away or back."""

    on_status: Callable[[JobStatus], None]
    on_outage: Callable[[str], None]


class FinalListener:
    """A subscription to a job's "final" announcement: `wait(timeout_s)` returns at the
    announcement or after timeout_s, whichever is first (read the status after). Where a Redis
    ACL forbids channels (NOPERM), waiting just sleeps: the status is polled."""

    def __init__(self, client: redis.Redis, job_id: str) -> None:
        self._pubsub = client.pubsub(ignore_subscribe_messages=True)
        self._listening = True
        try:
            self._pubsub.subscribe(keys.job_final_channel(job_id))
        except redis.ResponseError:
            self._listening = False

    def wait(self, timeout_s: float) -> None:
        """Until the announcement, or timeout_s."""
        if self._listening:
            try:
                self._pubsub.get_message(timeout=timeout_s)
            except redis.ResponseError:  # the refusal of the subscribe comes back here
                self._listening = False
            else:
                return
        time.sleep(timeout_s)

    def close(self) -> None:
        """Unsubscribe."""
        self._pubsub.close()

    def __enter__(self) -> FinalListener:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def watch_until_final(
    store: JobStore,
    job_id: str,
    *,
    timeout_s: float | None,
    poll_s: float,
    events: WatchEvents,
) -> JobStatus:
    """The job's status once it is final, cut short, or at the timeout."""
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    lost_since: float | None = None
    listener: FinalListener | None = None
    try:
        while True:
            try:
                # Subscribed before the read: an announcement after it is not missed.
                listener = listener or FinalListener(store.client, job_id)
                status = store.status(job_id)
                if lost_since is not None:
                    events.on_outage("Redis is back")
                    lost_since = None
                if status is None:
                    raise JobVanishedError(store.why_missing(job_id))
                events.on_status(status)
                if status["final"] or status["submit"] == SUBMIT_CUT_SHORT:
                    return status
                left_s = None if deadline is None else deadline - time.monotonic()
                if left_s is not None and left_s <= 0:
                    return status
                listener.wait(poll_s if left_s is None else min(poll_s, left_s))
            except _LOST as exc:
                if listener is not None:
                    listener.close()
                    listener = None
                lost_since = _outage(lost_since, exc, events)
    finally:
        if listener is not None:
            listener.close()


def _outage(lost_since: float | None, exc: redis.RedisError, events: WatchEvents) -> float:
    """Note a failed read during an outage; when the outage began. Past OUTAGE_LIMIT_S, give up."""
    now = time.monotonic()
    if lost_since is None:
        events.on_outage(f"lost Redis ({exc}); waiting up to {OUTAGE_LIMIT_S:g} s for it")
        lost_since = now
    elif now - lost_since > OUTAGE_LIMIT_S:
        raise UsageError(f"Redis has not answered for {OUTAGE_LIMIT_S:g} s: {exc}") from None
    time.sleep(OUTAGE_POLL_S)
    return lost_since
