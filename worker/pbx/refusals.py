"""Refused logins and refused callers: what is remembered, for whom, for how long, and the reason
the items of such a PBX fail with.

Yeastar blocks the caller's IP after 5 failed logins, until someone on site lifts the block, so
a refusal is remembered by what it is about:
- the job, for every refusal: no further token call of it to that API client until `retry` (at
  most one failed login per PBX per job and round);
- the secret, for a login refused with -1, 10005 or 10009: its keyed fingerprint, per device and
  client id, for REFUSAL_MEMORY_S, whatever the job (`retry --relogin` tries it again);
- the device, for 70004 (IP blocked) or 70087 (IP not allowed) on any call: no job tries it for
  REFUSAL_MEMORY_S, or until `retry --relogin` says someone acted on the PBX.
A refusal of a call made with a token ends that job's tries only: its login had succeeded.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

from jobs.records import iso_time
from worker.pbx.errors import LoginRefusedError, PbxAuthError, PbxUnusableError

# How long a refused secret, or a device that refuses this IP, is remembered for every job.
REFUSAL_MEMORY_S = 24 * 3600
TOKEN_ENDPOINTS = frozenset({"get_token", "refresh_token"})
IP_BLOCKED, IP_FORBIDDEN = 70004, 70087


class Scope(StrEnum):
    """Whom a refusal is remembered for (see the module's docstring)."""

    JOB = "job"
    CREDENTIALS = "credentials"
    DEVICE = "device"


def answered_by_the_pbx(exc: PbxUnusableError) -> bool:
    """Whether the PBX itself answered with the refusal: not a TLS failure, nor a circuit or a
    memory that stopped the request before it left."""
    return isinstance(exc, PbxAuthError) and not isinstance(exc, LoginRefusedError)


def scope_of(exc: PbxUnusableError, endpoint: str) -> Scope:
    """Whom the refusal `exc` of a call of `endpoint` is remembered for."""
    if not answered_by_the_pbx(exc):
        return Scope.JOB
    if exc.errcode in (IP_BLOCKED, IP_FORBIDDEN):
        return Scope.DEVICE
    return Scope.CREDENTIALS if endpoint == "get_token" else Scope.JOB


def is_failed_login(exc: PbxUnusableError, endpoint: str) -> bool:
    """Whether the refusal counts toward the PBX's IP block: a token call it refused."""
    return endpoint in TOKEN_ENDPOINTS and answered_by_the_pbx(exc)


@dataclass(frozen=True, slots=True)
class Refusal:
    """One refusal as Redis keeps it: the PBX's answer, when, by which job, for which client id
    (never the secret, never a token)."""

    scope: Scope
    errcode: int | None
    errmsg: str  # the PBX's own errmsg (or the local reason, for a TLS failure)
    message: str  # the error's message: "get_token: FAILURE (errcode -1)"
    detail: Any  # the PBX's invalid_param_list, if any (secrets scrubbed by the client)
    at: float  # epoch s
    job_id: str
    client_id: str

    @classmethod
    def of(
        cls, exc: PbxUnusableError, scope: Scope, *, at: float, job_id: str, client_id: str
    ) -> Refusal:
        """The refusal that `exc` reports."""
        return cls(
            scope, exc.errcode, exc.errmsg, str(exc), exc.detail, at, job_id, client_id
        )  # fmt: skip

    def to_json(self) -> str:
        """The record stored in Redis."""
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, raw: bytes | str) -> Refusal | None:
        """A stored record; None when it is damaged (then it counts as no refusal)."""
        try:
            fields = json.loads(raw)
            return cls(**{**fields, "scope": Scope(fields["scope"])})
        except (ValueError, TypeError, KeyError):
            return None

    def in_force(self, now: float) -> bool:
        """Whether it still stops token calls: a job's until the job's round ends (`retry`), a
        secret's or a device's for REFUSAL_MEMORY_S."""
        return self.scope is Scope.JOB or now < self.at + REFUSAL_MEMORY_S

    def reason(self) -> str:
        """What the PBX's items fail with."""
        answer = f"errcode {self.errcode} {self.errmsg}"
        when = f"at {iso_time(self.at)} by job {self.job_id}"
        if self.scope is Scope.CREDENTIALS:
            check = "client_id/client_secret" + (
                "" if self.errcode == -1 else " and the API client's permissions"
            )
            return (
                f"login refused by the PBX for client id {self.client_id!r} ({answer}) {when}: "
                f"check {check}; not tried again until the inventory changes the secret or "
                "`retry --relogin`"
            )
        if self.scope is Scope.DEVICE and self.errcode == IP_BLOCKED:
            return (
                f"the PBX has blocked this machine's IP ({answer}) {when}: someone on site must "
                "unblock it on the PBX; not tried again until `retry --relogin`"
            )
        if self.scope is Scope.DEVICE:
            return (
                f"this machine's IP is not on the PBX's API allow-list ({answer}) {when}: add "
                "it on the PBX; not tried again until `retry --relogin`"
            )
        return self.errmsg

    def error(self) -> LoginRefusedError:
        """The error a call of a PBX with this refusal in force raises, before it is sent."""
        message = self.message if self.scope is Scope.JOB else self.reason()
        return LoginRefusedError(
            message, errcode=self.errcode, errmsg=self.reason(), detail=self.detail
        )
