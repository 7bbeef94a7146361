"""An access/refresh token pair as the PBX hands it out, and when it is renewed or sent.

The answer's expire times are durations (yeastar-api.md); the pair keeps them as epoch seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from worker.pbx.errors import PbxBadAnswerError

# Refresh this long before the access token expires, so no request carries a dying token; a
# quarter of its lifetime when that is shorter (a PBX set to short-lived tokens).
REFRESH_MARGIN_S = 120.0
# A token this close to its expiry is not sent any more, even within the refresh margin: the
# request may reach the PBX a little later.
SEND_MARGIN_S = 2.0
# When an answer gives no lifetime, the documented ones (seconds).
DEFAULT_ACCESS_LIFETIME_S = 1800.0


def _refresh_margin_s(lifetime_s: float) -> float:
    """How long before its expiry an access token is renewed: REFRESH_MARGIN_S, or a quarter of
    its lifetime when that is shorter, yet always more than SEND_MARGIN_S (a token is renewed
    before it may no longer be sent), unless that would take over half of its lifetime."""
    return max(min(REFRESH_MARGIN_S, lifetime_s / 4), min(SEND_MARGIN_S + 1, lifetime_s / 2))


@dataclass(frozen=True, slots=True)
class TokenPair:
    """An access/refresh token pair with their expiry times, and the time from which the access
    token is renewed rather than used (epoch seconds)."""

    access_token: str
    access_expires_at: float
    refresh_token: str
    refresh_expires_at: float
    refresh_at: float

    def usable(self, now: float) -> bool:
        """Whether the access token still has more than the refresh margin to live."""
        return now < self.refresh_at

    def alive(self, now: float) -> bool:
        """Whether the access token may still be sent (renewal due or not): it has more than
        SEND_MARGIN_S to live."""
        return now < self.access_expires_at - SEND_MARGIN_S

    def refreshable(self, now: float) -> bool:
        """Whether the refresh token can still be used."""
        return bool(self.refresh_token) and now < self.refresh_expires_at - 5

    @classmethod
    def from_answer(cls, answer: dict[str, Any], now: float) -> TokenPair:
        """The pair from a get_token/refresh_token answer (expire times are durations);
        PbxBadAnswerError when the answer holds no usable token."""
        token = answer.get("access_token")
        try:
            lifetime_s = float(answer.get("access_token_expire_time", DEFAULT_ACCESS_LIFETIME_S))
            refresh_lifetime_s = float(answer.get("refresh_token_expire_time", 0))
        except (TypeError, ValueError):
            lifetime_s = refresh_lifetime_s = -1.0
        if not isinstance(token, str) or not token or lifetime_s <= 0 or refresh_lifetime_s < 0:
            raise PbxBadAnswerError(
                "token answer: success, but no access token with a lifetime in it",
                errmsg="no access token",
            )
        return cls(
            access_token=token,
            access_expires_at=now + lifetime_s,
            refresh_token=str(answer.get("refresh_token", "")),
            refresh_expires_at=now + refresh_lifetime_s,
            refresh_at=now + lifetime_s - _refresh_margin_s(lifetime_s),
        )

    def keep_ms(self, now: float) -> int:
        """How long Redis keeps the pair: while either token can still serve."""
        return max(1000, int((max(self.access_expires_at, self.refresh_expires_at) - now) * 1000))

    def as_hash(self) -> dict[Any, str]:
        """The Redis hash of the pair."""
        return {
            "access_token": self.access_token,
            "access_expires_at": repr(self.access_expires_at),
            "refresh_token": self.refresh_token,
            "refresh_expires_at": repr(self.refresh_expires_at),
            "refresh_at": repr(self.refresh_at),
        }

    @classmethod
    def from_hash(cls, raw: dict[Any, Any]) -> TokenPair | None:
        """The pair stored in Redis, if there is a whole one (a damaged hash counts as none:
        the next fetch replaces it)."""
        try:
            return cls(
                access_token=raw[b"access_token"].decode(),
                access_expires_at=float(raw[b"access_expires_at"]),
                refresh_token=raw[b"refresh_token"].decode(),
                refresh_expires_at=float(raw[b"refresh_expires_at"]),
                refresh_at=float(raw.get(b"refresh_at", 0)),  # may be absent from a stored pair
            )
        except (KeyError, ValueError, UnicodeDecodeError):
            return None
