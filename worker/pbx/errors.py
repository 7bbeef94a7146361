"""What can go wrong talking to a PBX: one tree, each class saying when it is raised.

`may_have_applied` tells the delivery logic whether the PBX may have acted on the request anyway
(a dropped connection after the body was sent, a `-2`): such a create is looked up before a re-send.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.errors import TrunkctlError


class PbxError(TrunkctlError):
    """Base of every PBX failure; the message never holds a token or secret."""

    transient = False
    may_have_applied = False
    # The PBX was asked and failed: a try that counts toward an item's bound (see
    # worker.retry_policy). False where nothing was asked of it, or it said to wait.
    tried_the_pbx = True

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


class PbxTokenExpiredError(PbxError):
    """Raised for errcode 10004: the token is expired or unknown; refresh once, replay once.

    Transient: when the replay meets 10004 again, the item is retried later with backoff.
    """

    transient = True


class PbxTokenLapsedError(PbxTokenExpiredError):
    """Raised when a request never left: each time its PBX's slot came, its token had run out
    again (tokens of a few seconds, a long queue for the PBX). Nothing was asked of the PBX."""

    tried_the_pbx = False


class PbxAuthError(PbxError):
    """Raised when the PBX refuses the credentials or the caller (-1, 70004, 70087, 10005, 10009).

    Fatal for that PBX: retrying would spend one of the 5 failed logins before the IP block.
    """


class CircuitOpenError(PbxAuthError):
    """Raised before a request leaves when its PBX's credentials failed for its job meanwhile
    (another task met the refusal: in this process, or in another one that stored it), or when
    the job was cancelled."""

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


class PbxTlsError(PbxAuthError):
    """Raised when the PBX's TLS certificate fails verification or pinning (or the handshake
    fails): it cannot prove it is that PBX, and no retry changes that. Fatal for that PBX, as
    refused credentials are, until `retry` with a corrected inventory."""


class PbxDuplicateError(PbxError):
    """Raised for errcode 40003: the trunk name is taken on that PBX."""


class PbxRejectedError(PbxError):
    """Raised when the PBX refuses the request for good (parameters, quota, wrong path...)."""


class PbxPartialError(PbxRejectedError):
    """Raised for errcode 1 (PARTIAL SUCCESS): part of it may be on the PBX."""

    may_have_applied = True


class PbxBadAnswerError(PbxRejectedError):
    """Raised when the answer is not the API's JSON envelope (wrong base_url, a proxy page)."""

    # A create is only sent with a token, which the same base URL and API path gave: whatever
    # answered it, the request may well have reached the PBX and created the trunk.
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
