"""Configuration from `TRUNKCTL_*` environment variables, read once at the edge."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from core.errors import UsageError

ENV_PREFIX = "TRUNKCTL_"


@dataclass(frozen=True)
class Settings:
    """Every setting with its default; the env name is `TRUNKCTL_` + the upper-cased field."""

    redis_url: str = "redis://localhost:6379/0"
    # Celery queue that the producer fills and the workers drain.
    queue: str = "trunkctl"
    # A task unacknowledged this long is handed to another worker (kombu's visibility timeout).
    visibility_timeout_s: int = 90
    # How often a worker sweeps for such tasks; redelivery happens within the sum of both.
    restore_interval_s: int = 10
    # Retries of transient PBX faults: bounded by create attempts and by total time.
    max_attempts: int = 6
    retry_window_s: int = 600
    backoff_base_s: float = 1.0
    backoff_max_s: float = 20.0
    # How long a task waits for a free slot of its PBX before it steps aside (is deferred).
    slot_wait_s: float = 15.0
    # Tasks in progress per worker process (each mostly waiting on its PBX, awaited on the
    # process's event loop: no thread per task).
    worker_concurrency: int = 256
    # Jobs and their items are kept this long in Redis after their last change.
    job_ttl_s: int = 30 * 24 * 3600
    # A file the worker creates once it consumes and removes at shutdown (health checks).
    worker_ready_file: str = ""
    # The User-Agent sent to every PBX (the API rejects requests without one).
    user_agent: str = "trunkctl/0.1"
    # Size caps of input files (MiB, KiB): a larger file is refused as unreadable, never read whole.
    max_trunks_file_mb: int = 50
    max_inventory_file_mb: int = 10
    max_ca_file_kb: int = 1024

    @property
    def defer_cap_s(self) -> float:
        """The longest a task is put off (a retry's backoff, a step aside for a busy PBX): well
        inside the visibility timeout, so that a task held for its countdown is never handed
        to another worker meanwhile."""
        return self.visibility_timeout_s / 3

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Settings from the environment; a malformed value is a UsageError naming it."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for field in fields(cls):
            name = ENV_PREFIX + field.name.upper()
            if name not in environ:
                continue
            kind = type(getattr(cls, field.name))
            try:
                values[field.name] = kind(environ[name])
            except ValueError:
                wanted = {int: "a whole number", float: "a number"}.get(kind, kind.__name__)
                raise UsageError(f"{name} must be {wanted}, got {environ[name]!r}") from None
        settings = cls(**values)
        for field in fields(cls):
            value = getattr(settings, field.name)
            if isinstance(value, int | float) and value <= 0:
                name = ENV_PREFIX + field.name.upper()
                raise UsageError(f"{name} must be more than 0, got {environ[name]!r}")
        return settings
