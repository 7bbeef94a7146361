"""What a simulator run is configured with: fleet size, latency, limits, token lifetimes."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

Clock = Callable[[], float]

DEFAULT_ACCESS_TTL_S = 1800.0
DEFAULT_REFRESH_TTL_S = 86400.0
DEFAULT_MAX_TOKENS = 8
DEFAULT_MAX_FAILED_LOGINS = 5


def pbx_alias(number: int) -> str:
    """The alias (and path prefix) of the PBX numbered from 1: pbx-001, pbx-002, ..."""
    return f"pbx-{number:03d}"


@dataclass(frozen=True)
class SimSettings:
    """Settings shared by every PBX of one simulator run."""

    pbx_count: int = 3
    latency_ms: float = 0.0
    # When set, each request's latency is drawn uniformly from this range instead.
    latency_range_ms: tuple[float, float] | None = None
    max_inflight: int = 1
    access_ttl_s: float = DEFAULT_ACCESS_TTL_S
    refresh_ttl_s: float = DEFAULT_REFRESH_TTL_S
    max_tokens: int = DEFAULT_MAX_TOKENS
    max_failed_logins: int = DEFAULT_MAX_FAILED_LOGINS
    trunk_quota: int | None = None
    faults: str = "none"
    # Seeds client credentials and latency draws, so that runs can be repeated.
    seed: int | None = None
    # The PBX closes each connection after its answer (doc); off only to measure the server.
    close_connections: bool = True
    clock: Clock = time.monotonic

    def __post_init__(self) -> None:
        if self.pbx_count < 1:
            raise ValueError("pbx_count must be at least 1")
        if self.max_inflight < 1:
            raise ValueError("max_inflight must be at least 1")
        if self.latency_ms < 0:
            raise ValueError("latency_ms must not be negative")
        if self.latency_range_ms is not None:
            low_ms, high_ms = self.latency_range_ms
            if not 0 <= low_ms <= high_ms:
                raise ValueError("latency_range_ms must be (low, high) with 0 <= low <= high")

    def aliases(self) -> list[str]:
        """Every PBX alias of this run, in order."""
        return [pbx_alias(number) for number in range(1, self.pbx_count + 1)]
