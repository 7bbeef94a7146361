"""Configuration from `TRUNKCTL_*` environment variables, read once at the edge."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from platformdirs import user_data_dir

from core.errors import UsageError

ENV_PREFIX = "TRUNKCTL_"


@dataclass(frozen=True)
class Settings:
    """Every setting with its default; the env name is `TRUNKCTL_` + the upper-cased field."""

    # Empty: the embedded Redis that trunkctl starts itself (core.embedded_redis).
    redis_url: str = ""
    # Where the embedded Redis and rollouts' reports live; empty: the user's data directory.
    data_dir: str = ""
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
    # The bearer token every /api route of `trunkctl serve` asks for (a secret: not in repr).
    api_token: str = dataclasses.field(default="", repr=False)
    # The largest request `trunkctl serve` takes: an upload's files and fields together.
    api_max_upload_mb: int = 20
    # Celery's and kombu's stock Redis transport, pool and send_task instead of the extensions of
    # celery_ext/ (a way out when an upgrade breaks them); slower.
    stock_celery: bool = False
    # A PBX that accepts connections but answers nothing: after 3 logins without an answer, one
    # login (a probe) this often at most.
    hung_pbx_probe_s: float = 120.0
    # Size caps of input files (MiB, KiB): a larger file is refused as unreadable, never read whole.
    max_trunks_file_mb: int = 50
    max_inventory_file_mb: int = 10
    max_ca_file_kb: int = 1024

    @property
    def data_path(self) -> Path:
        """The data directory: TRUNKCTL_DATA_DIR, else the user's (e.g. ~/.local/share/trunkctl)."""
        return (
            Path(self.data_dir).expanduser() if self.data_dir else Path(user_data_dir("trunkctl"))
        )

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
                values[field.name] = _parse(kind, environ[name])
            except ValueError:
                wanted = {int: "a whole number", float: "a number", bool: "1 or 0"}.get(
                    kind, kind.__name__
                )
                raise UsageError(f"{name} must be {wanted}, got {environ[name]!r}") from None
        settings = cls(**values)
        for field in fields(cls):
            value = getattr(settings, field.name)
            if isinstance(value, int | float) and not isinstance(value, bool) and value <= 0:
                name = ENV_PREFIX + field.name.upper()
                raise UsageError(f"{name} must be more than 0, got {environ[name]!r}")
        return settings


_BOOLEANS = {"1": True, "true": True, "yes": True, "on": True, "0": False, "false": False,
             "no": False, "off": False, "": False}  # fmt: skip


def _parse(kind: type, text: str) -> Any:
    """A setting's value of its default's type; ValueError when the text is not one."""
    if kind is bool:
        if text.strip().lower() not in _BOOLEANS:
            raise ValueError(text)
        return _BOOLEANS[text.strip().lower()]
    return kind(text)
