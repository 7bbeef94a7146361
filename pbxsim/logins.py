"""Consecutive failed logins per caller IP, and the IPs they got blocked."""

from __future__ import annotations


class LoginGuard:
    """Blocks a caller IP after too many consecutive failed logins, until unblocked."""

    def __init__(self, max_failures: int) -> None:
        self.max_failures = max_failures
        self._failures_by_ip: dict[str, int] = {}
        self._blocked: set[str] = set()

    def is_blocked(self, ip: str) -> bool:
        """Whether calls from this IP are refused."""
        return ip in self._blocked

    def record_failure(self, ip: str) -> None:
        """Count a failed login; the last allowed failure blocks the IP."""
        failures = self._failures_by_ip.get(ip, 0) + 1
        self._failures_by_ip[ip] = failures
        if failures >= self.max_failures:
            self._blocked.add(ip)

    def record_success(self, ip: str) -> None:
        """A successful login starts the IP's count of consecutive failures over."""
        self._failures_by_ip.pop(ip, None)

    def unblock(self, ip: str | None = None) -> None:
        """Lift the block (and failure count) of one IP, or of every IP when ip is None."""
        if ip is None:
            self._blocked.clear()
            self._failures_by_ip.clear()
            return
        self._blocked.discard(ip)
        self._failures_by_ip.pop(ip, None)

    def blocked_ips(self) -> list[str]:
        """The blocked IPs, sorted."""
        return sorted(self._blocked)
