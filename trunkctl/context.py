"""What commands share: settings, the Redis client and the job store, created once per run."""

from __future__ import annotations

import functools

import click
import redis

from celery_ext.messages import StockSender
from core.embedded_redis import RedisTarget, redis_target
from core.errors import UsageError
from core.settings import Settings
from jobs.queue import TaskQueue
from jobs.store import JobStore


@functools.cache
def settings() -> Settings:
    """Settings from the environment."""
    return Settings.from_env()


@functools.cache
def target() -> RedisTarget:
    """The Redis of this run: TRUNKCTL_REDIS_URL's, or the embedded one (said once, on stderr)."""
    config = settings()
    found = redis_target(config.redis_url, config.data_path)
    announcement = found.announcement()
    if announcement:
        click.echo(announcement, err=True)
    return found


@functools.cache
def job_store() -> JobStore:
    """The job store; a Redis that does not answer is a clear error."""
    where = "TRUNKCTL_REDIS_URL" if settings().redis_url else "the embedded Redis"
    try:
        client = redis.Redis.from_url(target().url, socket_connect_timeout=5)
    except ValueError as exc:  # redis-py's message names the schemes, never the URL
        raise UsageError(f"TRUNKCTL_REDIS_URL is not a Redis URL: {exc}") from None
    try:
        client.ping()
    except redis.RedisError as exc:
        raise UsageError(f"cannot reach Redis at {where}: {exc}") from None
    except TypeError as exc:  # an option in the URL's query string that redis-py does not take
        raise UsageError(f"TRUNKCTL_REDIS_URL has an option Redis does not take: {exc}") from None
    return JobStore(client, settings().job_ttl_s)


def task_queue() -> TaskQueue:
    """The queue the workers drain (on the same Redis as the job store); on the stock path,
    tasks go through Celery's own send_task."""
    stock = StockSender(target().url) if settings().stock_celery else None
    return TaskQueue(job_store().client, settings().queue, stock)
