"""Injected faults: rules that pick the n-th or every k-th call of an endpoint, and presets."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal, cast, get_args

from pbxsim.errcodes import ERRMSG
from pbxsim.errors import SimInputError

FaultKind = Literal[
    "errcode-2",
    "http503",
    "token_expired",
    "access_denied",
    "drop_before",
    "drop_after",
    "garbled_after",
    "slow",
    "errcode",
    "hang",
]
FAULT_KINDS: tuple[str, ...] = get_args(FaultKind)
ANY = "*"
_RULE_KEYS = frozenset({"pbx", "endpoint", "kind", "nth", "every", "slow_ms", "errcode"})


class FaultRuleError(SimInputError):
    """Raised when a fault rule or preset name cannot be used."""


@dataclass(frozen=True)
class FaultRule:
    """Inject `kind` on the `nth` call and/or every `every`-th call; neither means every call."""

    endpoint: str
    kind: FaultKind
    pbx: str = ANY
    nth: int | None = None
    every: int | None = None
    slow_ms: int = 0
    # The answer of kind "errcode" (e.g. 70091, a delete refused): one the PBX documents.
    errcode: int | None = None

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise FaultRuleError(f"unknown fault kind {self.kind!r}; known: {FAULT_KINDS}")
        takes_errcode = self.kind == "errcode"
        known = type(self.errcode) is int and self.errcode in ERRMSG
        if (self.errcode is not None) != takes_errcode or (takes_errcode and not known):
            raise FaultRuleError(f"only kind 'errcode' takes an errcode, one of {sorted(ERRMSG)}")
        for label, count in (("nth", self.nth), ("every", self.every)):
            if count is not None and (not isinstance(count, int) or count < 1):
                raise FaultRuleError(f"{label} must be a positive integer or null")
        if not isinstance(self.slow_ms, int) or self.slow_ms < 0:
            raise FaultRuleError("slow_ms must be a non-negative integer")
        if self.kind == "hang" and (self.nth is not None or self.every is not None):
            raise FaultRuleError("a hang holds every call while it is set: no nth or every")

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FaultRule:
        """A rule from its JSON object; unknown keys are errors."""
        unknown = set(data) - _RULE_KEYS
        if unknown:
            raise FaultRuleError(f"unknown fault rule keys: {sorted(unknown)}")
        if not isinstance(data.get("endpoint"), str) or not isinstance(data.get("pbx", ANY), str):
            raise FaultRuleError("a fault rule needs string 'endpoint' (and 'pbx' if given)")
        return cls(
            endpoint=data["endpoint"],
            kind=cast(FaultKind, data.get("kind")),
            pbx=data.get("pbx", ANY),
            nth=data.get("nth"),
            every=data.get("every"),
            slow_ms=data.get("slow_ms", 0),
            errcode=data.get("errcode"),
        )

    def to_json(self) -> dict[str, Any]:
        """The rule as a JSON object (`errcode` only on the kind that takes one)."""
        data = asdict(self)
        if self.errcode is None:
            del data["errcode"]
        return data

    def applies_to(self, alias: str, endpoint: str) -> bool:
        """Whether the rule concerns this PBX and endpoint."""
        return self.pbx in (ANY, alias) and self.endpoint in (ANY, endpoint)

    def fires_on(self, call_number: int) -> bool:
        """Whether the rule fires on this call (numbered from 1) of its endpoint."""
        if self.nth is None and self.every is None:
            return True
        return call_number == self.nth or (self.every is not None and call_number % self.every == 0)


def _create(kind: FaultKind, every: int, **extra: Any) -> FaultRule:
    return FaultRule(endpoint="trunk/create", kind=kind, every=every, **extra)


PRESETS: dict[str, tuple[FaultRule, ...]] = {
    "none": (),
    "flaky": (
        _create("errcode-2", 3),
        _create("drop_after", 5),
        FaultRule(endpoint="trunk/search", kind="http503", every=7),
    ),
    # Every other create is stored but its answer is lost: the case a client must reconcile.
    "ambiguous": (_create("drop_after", 2),),
    "slow": (FaultRule(endpoint=ANY, kind="slow", every=3, slow_ms=500),),
    "chaos": (
        FaultRule(endpoint="get_token", kind="errcode-2", every=9),
        _create("errcode-2", 4),
        _create("drop_after", 5),
        _create("drop_before", 7),
        _create("http503", 11),
        _create("token_expired", 13),
        FaultRule(endpoint="trunk/search", kind="slow", every=6, slow_ms=300),
        FaultRule(endpoint="trunk/search", kind="token_expired", every=10),
    ),
}


def preset_rules(name: str) -> tuple[FaultRule, ...]:
    """The rules of a preset by name."""
    try:
        return PRESETS[name]
    except KeyError:
        raise FaultRuleError(f"unknown fault preset {name!r}; known: {sorted(PRESETS)}") from None


class FaultPlan:
    """One PBX's fault rules and its count of calls per endpoint."""

    def __init__(self, alias: str) -> None:
        self.alias = alias
        self.rules: tuple[FaultRule, ...] = ()
        self._calls: dict[str, int] = {}

    def set_rules(self, rules: Iterable[FaultRule]) -> None:
        """Keep the rules that concern this PBX; the first matching rule wins on a call."""
        self.rules = tuple(rule for rule in rules if rule.pbx in (ANY, self.alias))

    def next_call(self, endpoint: str) -> FaultRule | None:
        """Count a call of the endpoint and return the fault to inject on it, if any."""
        number = self._calls.get(endpoint, 0) + 1
        self._calls[endpoint] = number
        for rule in self.rules:
            if rule.applies_to(self.alias, endpoint) and rule.fires_on(number):
                return rule
        return None

    def hang_rule(self, endpoint: str) -> FaultRule | None:
        """The hang rule in force for the endpoint, if any (it takes no call count)."""
        for rule in self.rules:
            if rule.kind == "hang" and rule.applies_to(self.alias, endpoint):
                return rule
        return None

    def reset_calls(self) -> None:
        """Start every endpoint's call count over."""
        self._calls.clear()
