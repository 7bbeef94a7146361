"""One simulated PBX: its API client credentials, tokens, login guard, trunks, faults, counters."""

from __future__ import annotations

import hmac
from typing import Any

from pbxsim.counters import Counters
from pbxsim.faults import FaultPlan, FaultRule
from pbxsim.logins import LoginGuard
from pbxsim.settings import SimSettings
from pbxsim.tokens import TokenStore
from pbxsim.trunk_store import TrunkStore
from pbxsim.write_log import WriteLog


class Pbx:
    """The state of one PBX; every method runs on the server's event loop thread."""

    def __init__(self, alias: str, client_id: str, client_secret: str, settings: SimSettings):
        self.alias = alias
        self.client_id = client_id
        self.client_secret = client_secret
        self._initial_secret = client_secret
        self._settings = settings
        self.max_inflight = settings.max_inflight
        self.trunk_quota = settings.trunk_quota
        self.tokens = TokenStore(
            settings.clock, settings.access_ttl_s, settings.refresh_ttl_s, settings.max_tokens
        )
        self.logins = LoginGuard(settings.max_failed_logins)
        self.trunks = TrunkStore()
        # Names of trunks an outbound route uses: the PBX refuses to delete them (70091).
        self.trunks_in_use: frozenset[str] = frozenset()
        self.faults = FaultPlan(alias)
        self.counters = Counters()
        self.writes = WriteLog()

    def __repr__(self) -> str:
        # Never the secret: reprs end up in tracebacks and logs.
        return f"Pbx({self.alias!r}, trunks={len(self.trunks)})"

    def credentials_match(self, client_id: str, client_secret: str) -> bool:
        """Whether a get_token body names this PBX's API client."""
        id_ok = hmac.compare_digest(client_id.encode(), self.client_id.encode())
        secret_ok = hmac.compare_digest(client_secret.encode(), self.client_secret.encode())
        return id_ok and secret_ok

    def reset(self, fault_rules: tuple[FaultRule, ...]) -> None:
        """Back to the start state: secret, limits, tokens, blocks, trunks, faults, counters and
        the writes counted per name."""
        self.client_secret = self._initial_secret
        self.max_inflight = self._settings.max_inflight
        self.trunk_quota = self._settings.trunk_quota
        self.tokens.clear()
        self.logins.unblock()
        self.trunks.clear()
        self.trunks_in_use = frozenset()
        self.writes = WriteLog()
        self.faults.set_rules(fault_rules)
        self.faults.reset_calls()
        # Requests in flight right now will still give their slot back.
        self.counters = Counters(
            inflight=self.counters.inflight, peak_inflight=self.counters.inflight
        )

    def state(self, include_trunks: bool = True) -> dict[str, Any]:
        """This PBX as a JSON object (no secrets other than the trunks' own passwords)."""
        counters = self.counters.snapshot()
        counters["active_tokens"] = self.tokens.active_count()
        counters["blocked_ips"] = self.logins.blocked_ips()
        state: dict[str, Any] = {
            "pbx": self.alias,
            "client_id": self.client_id,
            "max_inflight": self.max_inflight,
            "trunk_quota": self.trunk_quota,
            "trunk_count": len(self.trunks),
            "trunks_in_use": sorted(self.trunks_in_use),
            "counters": counters,
            **self.writes.snapshot(),
            "faults": [rule.to_json() for rule in self.faults.rules],
        }
        if include_trunks:
            state["trunks"] = self.trunks.all()
        return state
