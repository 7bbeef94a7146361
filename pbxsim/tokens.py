"""One API client's access and refresh tokens: issue, refresh, revoke, expire, cap."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from pbxsim.settings import Clock


@dataclass
class Grant:
    """An access token and the refresh token issued with it."""

    access_token: str
    refresh_token: str
    access_expires_at: float
    refresh_expires_at: float


class TokenStore:
    """The tokens of one PBX's API client; times come from the injected monotonic clock."""

    def __init__(self, clock: Clock, access_ttl_s: float, refresh_ttl_s: float, max_active: int):
        self._clock = clock
        self.access_ttl_s = access_ttl_s
        self.refresh_ttl_s = refresh_ttl_s
        self.max_active = max_active
        self._by_access: dict[str, Grant] = {}
        self._by_refresh: dict[str, Grant] = {}
        # Every token ever handed out, for tests that sweep outputs for them (in-process only:
        # never served over HTTP).
        self.issued: list[str] = []

    def issue(self) -> Grant | None:
        """A new grant, or None when the client already holds the most valid access tokens."""
        if self.active_count() >= self.max_active:
            return None
        return self._new_grant()

    def refresh(self, refresh_token: str) -> Grant | None:
        """Swap a valid refresh token for a new grant; both old tokens stop being valid."""
        self._prune()
        old = self._by_refresh.pop(refresh_token, None)
        if old is None:
            return None
        self._by_access.pop(old.access_token, None)
        return self._new_grant()

    def is_valid(self, access_token: str) -> bool:
        """Whether the access token was issued, is not revoked and has not expired."""
        grant = self._by_access.get(access_token)
        return grant is not None and self._clock() < grant.access_expires_at

    def revoke(self, access_token: str) -> bool:
        """Revoke a valid access token; False when it was not valid."""
        if not self.is_valid(access_token):
            return False
        del self._by_access[access_token]
        return True

    def active_count(self) -> int:
        """How many access tokens are valid right now."""
        self._prune()
        return len(self._by_access)

    def clear(self) -> None:
        """Forget every token."""
        self._by_access.clear()
        self._by_refresh.clear()

    def _new_grant(self) -> Grant:
        now = self._clock()
        grant = Grant(
            access_token=secrets.token_hex(16),
            refresh_token=secrets.token_hex(16),
            access_expires_at=now + self.access_ttl_s,
            refresh_expires_at=now + self.refresh_ttl_s,
        )
        self._by_access[grant.access_token] = grant
        self._by_refresh[grant.refresh_token] = grant
        self.issued += [grant.access_token, grant.refresh_token]
        return grant

    def _prune(self) -> None:
        now = self._clock()
        for token, grant in list(self._by_access.items()):
            if grant.access_expires_at <= now:
                del self._by_access[token]
        for token, grant in list(self._by_refresh.items()):
            if grant.refresh_expires_at <= now:
                del self._by_refresh[token]
