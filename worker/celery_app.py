"""The Celery app: Redis broker, late acks, and the settings that make redelivery bounded."""

from __future__ import annotations

import dataclasses
import gc
import logging
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from celery import Celery
from celery.signals import after_setup_logger, worker_init, worker_ready, worker_shutdown

from celery_ext.messages import broker_url
from core.embedded_redis import redis_target
from core.errors import EXIT_USAGE, UsageError
from core.settings import Settings
from worker.redis_pool import redis_url_problem

PARENT_POLL_S = 1.0
# How long the lock of a sweep for unacknowledged tasks lives if its holder dies.
UNACKED_MUTEX_EXPIRE_S = 30


def make_app(settings: Settings) -> Celery:
    """A Celery app configured for trunk delivery."""
    app = Celery("trunkctl", broker=broker_url(settings.redis_url), include=["worker.tasks"])
    app.conf.update(
        # kombu's Redis transport, cheaper per message (celery_ext/transport.py); the stock
        # path uses kombu's own and Celery's threads pool.
        broker_transport="redis" if settings.stock_celery else "celery_ext.transport:Transport",
        task_default_queue=settings.queue,
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        # A task is acknowledged only once its item is recorded; a killed worker's tasks come back.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        # Tasks mostly wait on PBXs: one event loop per process awaits them (celery_ext/pool.py).
        worker_pool="threads" if settings.stock_celery else "celery_ext.pool:AsyncioPool",
        worker_concurrency=settings.worker_concurrency,
        worker_prefetch_multiplier=1,
        worker_send_task_events=False,
        broker_connection_retry_on_startup=True,
        broker_transport_options={
            # Unacked tasks return to the queue after this; every run of a task is far shorter.
            "visibility_timeout": settings.visibility_timeout_s,
            # kombu sweeps for such tasks every interval x throttle seconds: make it the interval.
            "unacked_restore_interval": settings.restore_interval_s,
            "unacked_restore_throttle": 1,
            # kombu's default (300 s) lets a worker killed mid-sweep hold up every redelivery; no
            # longer than the visibility timeout, so that the bound above holds.
            "unacked_mutex_expire": min(UNACKED_MUTEX_EXPIRE_S, settings.visibility_timeout_s),
        },
    )
    return app


# A task's objects mostly die by reference count: young collections wait for this many
# allocations, and what start-up allocated stays out of every collection (cycles still go).
GC_YOUNG_THRESHOLD = 10_000


def tune_gc(**_: Any) -> None:
    """Freeze what start-up allocated and collect young objects less often (worker_ready)."""
    gc.collect()
    gc.freeze()
    _young, older, oldest = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, older, oldest)


def _quiet_per_task_lines(**_: Any) -> None:
    # Two INFO lines per task bury the log and cost CPU: every outcome is in Redis anyway, and
    # warnings and errors still reach the log.
    for name in ("celery.app.trace", "celery.worker.strategy"):
        logging.getLogger(name).setLevel(logging.WARNING)


def _warn_if_off_the_queue(sender: Any = None, **_: Any) -> None:
    """A worker told to consume other queues (`-Q`) than the one submits fill would sit idle."""
    consumer = getattr(sender, "task_consumer", None)
    names = {queue.name for queue in getattr(consumer, "queues", None) or ()}
    if names and settings.queue not in names:
        logging.getLogger(__name__).warning(
            "this worker consumes %s, but trunkctl submits to TRUNKCTL_QUEUE=%s: it will "
            "deliver nothing of theirs (drop -Q, or set TRUNKCTL_QUEUE alike everywhere)",
            ", ".join(sorted(names)), settings.queue,
        )  # fmt: skip


def _stop_with_parent(**_: Any) -> None:
    """A worker started for a rollout by `trunkctl run` (TRUNKCTL_WORKER_PARENT_PID) stops warm
    when that command is gone (killed), instead of going on unseen."""
    parent = int(os.environ.get("TRUNKCTL_WORKER_PARENT_PID") or 0)
    if parent <= 0:
        return

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_POLL_S)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _touch_ready_file(**_: Any) -> None:
    # For health checks (and tests): the file exists while the worker consumes.
    if settings.worker_ready_file:
        Path(settings.worker_ready_file).touch()


def _remove_ready_file(**_: Any) -> None:
    if settings.worker_ready_file:
        Path(settings.worker_ready_file).unlink(missing_ok=True)


def _settings_or_exit() -> Settings:
    """The settings (the embedded Redis's URL when TRUNKCTL_REDIS_URL is unset); a malformed one
    ends `celery -A worker ...` with one line and exit 2, as `trunkctl worker` does."""
    try:
        settings = Settings.from_env()
        target = redis_target(settings.redis_url, settings.data_path)
    except UsageError as exc:
        problem = str(exc)
    else:
        url_problem = redis_url_problem(target.url)
        if url_problem is None:
            if target.announcement():
                print(target.announcement(), file=sys.stderr)
            return dataclasses.replace(settings, redis_url=target.url)
        problem = f"TRUNKCTL_REDIS_URL cannot be used: {url_problem}"
    print(f"error: {problem}", file=sys.stderr)
    raise SystemExit(EXIT_USAGE)


settings = _settings_or_exit()
app = make_app(settings)
after_setup_logger.connect(_quiet_per_task_lines, weak=False)
# A file left by a killed worker must not say "ready" before this one consumes.
worker_init.connect(_remove_ready_file, weak=False)
worker_ready.connect(tune_gc, weak=False)  # before the ready file says so
worker_ready.connect(_warn_if_off_the_queue, weak=False)
worker_ready.connect(_stop_with_parent, weak=False)
worker_ready.connect(_touch_ready_file, weak=False)
worker_shutdown.connect(_remove_ready_file, weak=False)
