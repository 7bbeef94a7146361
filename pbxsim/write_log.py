"""Every trunk write one PBX received, per endpoint and trunk name: accepted, or refused by what
it was answered. End-to-end tests read it to prove that no trunk was created twice."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    # call.py imports pbx.py, which holds a WriteLog: a runtime import would be circular.
    from pbxsim.call import ApiCall

# The inspection key of each counted endpoint.
WRITE_ENDPOINTS = {
    "trunk/create": "creates_by_name",
    "trunk/update": "updates_by_name",
    "trunk/delete": "deletes_by_name",
}
# The name a write is counted under when its request names no trunk (no body, an unknown id).
NO_NAME = ""
ACCEPTED = "0"


@dataclass(frozen=True)
class Subject:
    """The trunk a write is about, read before it is handled."""

    name: str
    # A trunk of that name is stored, made by a trunk/create (for creates: a re-send).
    made_by_create: bool = False


@dataclass
class NameTally:
    """The writes of one endpoint for one trunk name."""

    accepted: int = 0
    # errcode (as text) or, for an answer that is no API answer, the fault's kind -> count.
    refused: dict[str, int] = field(default_factory=dict)
    # Creates received while a trunk a create made under this name was still stored.
    sent_after_accepted: int = 0

    def to_json(self, endpoint: str) -> dict[str, Any]:
        """The tally as JSON; `sent_after_accepted` only for creates."""
        data: dict[str, Any] = {"accepted": self.accepted, "refused": dict(self.refused)}
        if endpoint == "trunk/create":
            data["sent_after_accepted"] = self.sent_after_accepted
        return data


def subject_of(endpoint: str, call: ApiCall) -> Subject | None:
    """The trunk a request to a write endpoint is about; None for the other endpoints."""
    if endpoint not in WRITE_ENDPOINTS:
        return None
    trunks = call.pbx.trunks
    body = call.json_object() or {}
    if endpoint == "trunk/create":
        name = body.get("name")
        if not isinstance(name, str):
            return Subject(NO_NAME)
        return Subject(name, trunks.made_by_create(name))
    trunk_id = body.get("id") if endpoint == "trunk/update" else call.query.get("id")
    if isinstance(trunk_id, str) and trunk_id.isascii() and trunk_id.isdecimal():
        trunk_id = int(trunk_id)
    name = trunks.name_of(trunk_id) if type(trunk_id) is int else None
    return Subject(name or NO_NAME)


class WriteLog:
    """One PBX's tallies, per endpoint, per trunk name."""

    def __init__(self) -> None:
        self._tallies: dict[str, dict[str, NameTally]] = {name: {} for name in WRITE_ENDPOINTS}

    def note(self, endpoint: str, subject: Subject, outcome: str) -> None:
        """Count one write: `outcome` is "0" when accepted, else what refused it."""
        tally = self._tallies[endpoint].setdefault(subject.name, NameTally())
        if subject.made_by_create and endpoint == "trunk/create":
            tally.sent_after_accepted += 1
        if outcome == ACCEPTED:
            tally.accepted += 1
        else:
            tally.refused[outcome] = tally.refused.get(outcome, 0) + 1

    def snapshot(self) -> dict[str, dict[str, dict[str, Any]]]:
        """{"creates_by_name": {name: tally}, "updates_by_name": ..., "deletes_by_name": ...}."""
        return {
            key: {name: tally.to_json(endpoint) for name, tally in self._tallies[endpoint].items()}
            for endpoint, key in WRITE_ENDPOINTS.items()
        }
