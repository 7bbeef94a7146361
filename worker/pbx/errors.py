"""What can go wrong with a call to a PBX: one tree, each class saying when it is raised.

    PbxError
    ├── PbxTransientError: worth another run (connection, timeout, 5xx, busy, token cap...)
    ├── PbxTokenExpiredError: 10004, transient too
    ├── PbxUnusableError: not for this job until `retry` (opens the job's circuit)
    │   ├── PbxAuthError: credentials or caller refused
    │   ├── PbxTlsError: the PBX cannot prove who it is
    │   └── CircuitOpenError: the circuit is open already
    ├── SlotUnavailableError: not sent, step aside
    └── PbxDuplicateError, PbxRejectedError: for good

`may_have_applied`: the PBX may have acted on it anyway (a create is looked up before a re-send);
`tried_the_pbx`: the run counts a try (worker.retry_policy).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.errors import TrunkctlError


class PbxError(TrunkctlError):
    """Raised, as one of the classes below, when a call to a PBX fails or must not be made; the
    message never holds a token or secret."""

    transient = False
    may_have_applied = False
    tried_the_pbx = True  # False where nothing was asked of the PBX, or it said to wait

    def __init__(
        self, message: str, *, errcode: int | None = None, errmsg: str = "", detail: Any = None
    ) -> None:
        super().__init__(message)
        self.errcode = errcode
        self.errmsg = errmsg or message
        self.detail = detail


class PbxTransientError(PbxError):
    """Raised for faults worth retrying later: busy PBX, 5xx, timeouts, connection errors."""

    transient = True


class PbxConnectionError(PbxTransientError):
    """Raised when the connection fails or drops, or the answer times out: it may have landed."""

    may_have_applied = True


class PbxUnreachableError(PbxConnectionError):
    """Raised when no connection to the PBX could be made (refused, no route, a name that does
    not resolve): the request never left, so it cannot have been applied."""

    may_have_applied = False
    tried_the_pbx = False


class PbxTimeoutError(PbxConnectionError):
    """Raised when the answer does not come within the PBX's `timeout_s`: the PBX may still be
    working on the request."""


class LoginUnansweredError(PbxConnectionError):
    """Raised when a login got no answer (a timeout, a dropped connection). It counts no try of
    the item that happened to send it: the spacing of such logins bounds them instead."""

    tried_the_pbx = False


class PbxServerError(PbxTransientError):
    """Raised for an HTTP 5xx answer (a proxy or the PBX web server failing)."""

    may_have_applied = True


class PbxInternalError(PbxTransientError):
    """Raised for errcode -2 (INTERNAL SERVER ERROR) and 2 (PROCESSING): it may have landed."""

    may_have_applied = True


class PbxBusyError(PbxTransientError):
    """Raised for errcode 70082 (OVERLOAD_TASK_RUNNING): nothing was done."""


class PbxTokenCapError(PbxTransientError):
    """Raised when get_token answers 60002: 8 tokens are out; wait, don't hammer."""

    tried_the_pbx = False


class LoginsPausedError(PbxTokenCapError):
    """Raised, before anything is sent, while a PBX's logins are paused: its failed-login budget
    is spent, or its unanswered logins are being spaced out (worker.pbx.login_gate). The pause
    ends at `resumes_at` (epoch s)."""

    def __init__(self, message: str, *, resumes_at: float) -> None:
        super().__init__(message, errmsg=message)
        self.resumes_at = resumes_at


class PbxTokenExpiredError(PbxError):
    """Raised for errcode 10004: the token is expired or unknown; refresh once, replay once, and
    when the replay meets it again, the item is retried later (transient)."""

    transient = True


class PbxTokenLapsedError(PbxTokenExpiredError):
    """Raised when a request never left: each time its PBX's slot came, its token had expired
    again. Nothing was asked of the PBX."""

    tried_the_pbx = False


class PbxUnusableError(PbxError):
    """Raised, as one of the classes below, when this PBX cannot be used by this job until
    `retry`: the job's circuit for the PBX opens (or is open already) and its items fail."""


class PbxAuthError(PbxUnusableError):
    """Raised when the PBX refuses the credentials or the caller (-1, 70004, 70087, 10005, 10009):
    retrying would spend one of the 5 failed logins before the IP block."""


class LoginRefusedError(PbxAuthError):
    """Raised, before anything is sent, for a PBX whose refusal is remembered (for the job, the
    secret or the device, see worker.pbx.refusals), and for the refusal just recorded: its
    errmsg says what was refused, when, by which job, and what to do."""


class PbxTlsError(PbxUnusableError):
    """Raised when the PBX's TLS certificate fails verification or pinning (or the handshake
    fails): it cannot prove it is that PBX, until `retry` with a corrected inventory."""


class CircuitOpenError(PbxUnusableError):
    """Raised before a request leaves when its job's circuit for the PBX is open already: a
    refusal met by another task (in any process), or `cancel`."""

    cancelled = False  # the job was cancelled: its items end cancelled, not failed

    @classmethod
    def from_reason(cls, reason: Mapping[str, Any]) -> CircuitOpenError:
        """The error for a circuit opened for `reason` (errcode, errmsg, detail, cancelled)."""
        error = cls(
            reason["errmsg"], errcode=reason["errcode"], errmsg=reason["errmsg"],
            detail=reason.get("detail"),
        )  # fmt: skip
        error.cancelled = bool(reason.get("cancelled"))
        return error


class SlotUnavailableError(PbxError):
    """Raised, before a request leaves, when its task should step aside rather than wait for a
    slot of its saturated PBX: nothing was sent; the task comes back in `retry_in_s`."""

    tried_the_pbx = False

    def __init__(self, message: str, retry_in_s: float) -> None:
        super().__init__(message)
        self.retry_in_s = retry_in_s


class PbxDuplicateError(PbxError):
    """Raised for errcode 40003: the trunk name is taken on that PBX."""


class PbxRejectedError(PbxError):
    """Raised when the PBX refuses the request for good (parameters, quota, wrong path...)."""


class PbxPartialError(PbxRejectedError):
    """Raised for errcode 1 (PARTIAL SUCCESS): part of it may be on the PBX."""

    may_have_applied = True


class PbxBadAnswerError(PbxRejectedError):
    """Raised when the answer is not the API's JSON envelope (wrong base_url, a proxy page)."""

    # A create only leaves with a token from that same base URL: it may well have landed.
    may_have_applied = True


AUTH_ERRCODES = frozenset({-1, 70004, 70087, 10005, 10009})


def error_for(errcode: int, errmsg: str, answer: dict[str, Any], *, endpoint: str) -> PbxError:
    """The exception for a non-zero errcode (dispatch on the number, never on the text)."""
    detail = answer.get("invalid_param_list") or answer.get("duplicate_field_list")
    message = f"{endpoint}: {errmsg or 'error'} (errcode {errcode})"
    kind: type[PbxError]
    if errcode in AUTH_ERRCODES:
        kind = PbxAuthError
    elif errcode == 10004:
        kind = PbxTokenExpiredError
    elif errcode in (-2, 2):
        kind = PbxInternalError
    elif errcode == 70082:
        kind = PbxBusyError
    elif errcode == 60002 and endpoint == "get_token":
        kind = PbxTokenCapError
    elif errcode == 40003:
        kind = PbxDuplicateError
    elif errcode == 1:
        kind = PbxPartialError
    else:
        kind = PbxRejectedError
    return kind(message, errcode=errcode, errmsg=errmsg, detail=detail)
