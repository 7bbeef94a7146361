"""What one PBX counts: logins, tokens, trunk writes, refusals, load."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Counters:
    """Counts since start or the last reset; `active_tokens` and `blocked_ips` are read live."""

    logins_ok: int = 0
    logins_failed: int = 0
    # get_token and refresh_token answers that carried a new pair.
    tokens_issued: int = 0
    token_cap_hits: int = 0
    # Requests answered 10004 because their access token was expired, revoked or unknown.
    tokens_refused: int = 0
    creates: int = 0
    updates: int = 0
    deletes: int = 0
    duplicates: int = 0
    quota_hits: int = 0
    # Requests refused with 70082 because the PBX already had its limit in flight.
    violations: int = 0
    blocked_calls: int = 0
    faults_injected: int = 0
    inflight: int = 0
    peak_inflight: int = 0
    requests: dict[str, int] = field(default_factory=dict)

    def count_request(self, endpoint: str) -> None:
        """Count a request to an endpoint, whatever its answer."""
        self.requests[endpoint] = self.requests.get(endpoint, 0) + 1

    def enter(self, max_inflight: int) -> bool:
        """Take an in-flight slot; False (and a violation) when the limit is reached."""
        if self.inflight >= max_inflight:
            self.violations += 1
            return False
        self.inflight += 1
        self.peak_inflight = max(self.peak_inflight, self.inflight)
        return True

    def leave(self) -> None:
        """Give back an in-flight slot."""
        self.inflight -= 1

    def snapshot(self) -> dict[str, Any]:
        """The counters as a JSON object."""
        return asdict(self)
