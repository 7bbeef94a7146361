"""Every PBX of one simulator run, by alias, and the operations the inspection API offers."""

from __future__ import annotations

import random
import string
from collections.abc import Sequence
from typing import Any

from pbxsim.errors import SimInputError, UnknownPbxError
from pbxsim.faults import FaultRule, preset_rules
from pbxsim.pbx import Pbx
from pbxsim.settings import SimSettings
from pbxsim.validation import trunk_body_problems

_CREDENTIAL_ALPHABET = string.ascii_letters + string.digits
CLIENT_ID_LENGTH = 32
CLIENT_SECRET_LENGTH = 32


class Fleet:
    """The PBXs of one run; a dict lookup per request, so thousands cost no routing."""

    def __init__(self, settings: SimSettings) -> None:
        self.settings = settings
        # A seed makes credentials and latency draws repeatable; without one they are random.
        credential_rng = (
            random.Random(settings.seed) if settings.seed is not None else random.SystemRandom()
        )
        self._latency_rng = random.Random(settings.seed)
        self.pbxs: dict[str, Pbx] = {
            alias: Pbx(alias, *_credentials(credential_rng), settings)
            for alias in settings.aliases()
        }
        self._initial_rules = preset_rules(settings.faults)
        self.fault_rules: tuple[FaultRule, ...] = ()
        self.set_fault_rules(self._initial_rules)

    def pbx(self, alias: str) -> Pbx:
        """The PBX with this alias."""
        try:
            return self.pbxs[alias]
        except KeyError:
            raise UnknownPbxError(alias) from None

    def latency_s(self) -> float:
        """The latency to add to the next request, in seconds."""
        if self.settings.latency_range_ms is not None:
            return self._latency_rng.uniform(*self.settings.latency_range_ms) / 1000
        return self.settings.latency_ms / 1000

    def set_fault_rules(self, rules: Sequence[FaultRule]) -> None:
        """Replace every PBX's fault rules; call counts go on."""
        self.fault_rules = tuple(rules)
        for pbx in self.pbxs.values():
            pbx.faults.set_rules(self.fault_rules)

    def reset(self, alias: str | None = None) -> list[str]:
        """Put one PBX, or all, back to the start state (faults: the start preset)."""
        targets = [self.pbx(alias)] if alias is not None else list(self.pbxs.values())
        if alias is None:
            self.fault_rules = self._initial_rules
        for pbx in targets:
            pbx.reset(self._initial_rules)
        return [pbx.alias for pbx in targets]

    def preload(self, alias: str, bodies: Sequence[Any], validate: bool = True) -> list[int]:
        """Store trunks as if created (no counters move); all or none. Return their ids."""
        pbx = self.pbx(alias)
        names: set[str] = set()
        for index, body in enumerate(bodies):
            _check_preload_body(index, body, validate)
            if body["name"] in names or pbx.trunks.id_of_name(body["name"]) is not None:
                raise SimInputError(f"trunk {index}: name {body['name']!r} already exists")
            names.add(body["name"])
        return [pbx.trunks.add(body) for body in bodies]

    def set_secret(self, alias: str, client_secret: str) -> None:
        """Change a PBX's client secret (until a reset); tokens already issued stay valid."""
        if not client_secret:
            raise SimInputError("client_secret must not be empty")
        self.pbx(alias).client_secret = client_secret

    def unblock(self, alias: str, ip: str | None = None) -> None:
        """Lift an IP's block on a PBX, or every block when ip is None."""
        self.pbx(alias).logins.unblock(ip)

    def configure(
        self,
        alias: str,
        max_inflight: int | None = None,
        trunk_quota: int | None = None,
        trunks_in_use: Sequence[str] | None = None,
    ) -> None:
        """Change a PBX's limits (until a reset); a trunk_quota of 0 or less removes the quota;
        `trunks_in_use` names the trunks whose delete it refuses (70091), replacing the last."""
        pbx = self.pbx(alias)
        if trunks_in_use is not None:
            if isinstance(trunks_in_use, str) or not all(
                isinstance(name, str) for name in trunks_in_use
            ):
                raise SimInputError("trunks_in_use must be a list of trunk names")
            pbx.trunks_in_use = frozenset(trunks_in_use)
        if max_inflight is not None:
            if max_inflight < 1:
                raise SimInputError("max_inflight must be at least 1")
            pbx.max_inflight = max_inflight
        if trunk_quota is not None:
            pbx.trunk_quota = trunk_quota if trunk_quota > 0 else None

    def state(self, alias: str | None = None, include_trunks: bool = True) -> dict[str, Any]:
        """One PBX's state, or {"pbx_count", "pbxs": {alias: state}} for all."""
        if alias is not None:
            return self.pbx(alias).state(include_trunks)
        return {
            "pbx_count": len(self.pbxs),
            "faults": [rule.to_json() for rule in self.fault_rules],
            "pbxs": {name: pbx.state(include_trunks) for name, pbx in self.pbxs.items()},
        }

    def inventory_rows(self, root_url: str) -> list[dict[str, Any]]:
        """One inventory row per PBX, for a server reachable at root_url."""
        return [
            {
                "pbx": pbx.alias,
                "base_url": f"{root_url}/{pbx.alias}",
                "client_id": pbx.client_id,
                "client_secret": pbx.client_secret,
                "max_inflight": pbx.max_inflight,
            }
            for pbx in self.pbxs.values()
        ]


def _credentials(rng: random.Random) -> tuple[str, str]:
    client_id = "".join(rng.choices(_CREDENTIAL_ALPHABET, k=CLIENT_ID_LENGTH))
    client_secret = "".join(rng.choices(_CREDENTIAL_ALPHABET, k=CLIENT_SECRET_LENGTH))
    return client_id, client_secret


def _check_preload_body(index: int, body: Any, validate: bool) -> None:
    if not isinstance(body, dict) or not isinstance(body.get("name"), str):
        raise SimInputError(f"trunk {index}: must be a JSON object with a string 'name'")
    problems = trunk_body_problems(body) if validate else []
    if problems:
        fields = ", ".join(problem["field"] for problem in problems)
        raise SimInputError(f"trunk {index}: invalid per the schema: {fields}")
