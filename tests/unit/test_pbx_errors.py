"""errcode -> exception: every row of yeastar-api.md's table, dispatched on the integer."""

from __future__ import annotations

from typing import Any

import pytest

from core.errors import TrunkctlError
from worker.pbx import errors
from worker.pbx.errors import (
    CircuitOpenError,
    LoginRefusedError,
    PbxAuthError,
    PbxBadAnswerError,
    PbxBusyError,
    PbxDuplicateError,
    PbxError,
    PbxInternalError,
    PbxPartialError,
    PbxRejectedError,
    PbxTlsError,
    PbxTokenCapError,
    PbxTokenExpiredError,
    PbxUnusableError,
    SlotUnavailableError,
    error_for,
)

# errcode, errmsg, endpoint, class, transient, may_have_applied
ROWS: list[tuple[int, str, str, type[PbxError], bool, bool]] = [
    (-2, "INTERNAL SERVER ERROR", "trunk/create", PbxInternalError, True, True),
    (-1, "FAILURE", "get_token", PbxAuthError, False, False),
    (1, "PARTIAL SUCCESS", "trunk/create", PbxPartialError, False, True),
    (2, "PROCESSING", "trunk/create", PbxInternalError, True, True),
    (10001, "INTERFACE NOT EXISTED", "trunk/create", PbxRejectedError, False, False),
    (10004, "TOKEN EXPIRED", "trunk/create", PbxTokenExpiredError, True, False),
    (10005, "ACCESS DENIED", "trunk/create", PbxAuthError, False, False),
    (10009, "OPERATION FAILED", "trunk/create", PbxAuthError, False, False),
    (40001, "PARAMETER SYNTAX ERROR", "trunk/create", PbxRejectedError, False, False),
    (40002, "PARAMETER ERROR", "trunk/create", PbxRejectedError, False, False),
    (40003, "DUPLICATE KEY VALUE", "trunk/create", PbxDuplicateError, False, False),
    (60002, "MAX LIMITATION EXCEEDED", "get_token", PbxTokenCapError, True, False),
    (60002, "MAX LIMITATION EXCEEDED", "trunk/create", PbxRejectedError, False, False),
    (70004, "ACCOUNT IP BLOCKED", "get_token", PbxAuthError, False, False),
    (70004, "ACCOUNT IP BLOCKED", "trunk/search", PbxAuthError, False, False),
    (70082, "OVERLOAD_TASK_RUNNING", "trunk/create", PbxBusyError, True, False),
    (70087, "IP FORBIDDEN", "trunk/create", PbxAuthError, False, False),
    (99999, "SOMETHING NEW", "trunk/create", PbxRejectedError, False, False),
]


@pytest.mark.parametrize("row", ROWS, ids=[f"{row[0]}-{row[2]}" for row in ROWS])
def test_errcode_maps_to_class_and_flags(
    row: tuple[int, str, str, type[PbxError], bool, bool],
) -> None:
    errcode, errmsg, endpoint, kind, transient, may_have_applied = row
    exc = error_for(errcode, errmsg, {"errcode": errcode, "errmsg": errmsg}, endpoint=endpoint)
    assert type(exc) is kind
    assert exc.transient is transient
    assert exc.may_have_applied is may_have_applied
    assert exc.errcode == errcode
    assert exc.errmsg == errmsg
    assert isinstance(exc, TrunkctlError)
    assert endpoint in str(exc)
    assert str(errcode) in str(exc)


@pytest.mark.parametrize(
    ("errcode", "misleading_errmsg", "kind"),
    [
        (10004, "INTERNAL SERVER ERROR", PbxTokenExpiredError),
        (-2, "TOKEN EXPIRED", PbxInternalError),
        (70082, "OVERLOAD TASK RUNNING", PbxBusyError),  # space instead of underscore
        (40003, "", PbxDuplicateError),
        (-1, "SUCCESS", PbxAuthError),
    ],
)
def test_dispatch_is_on_the_integer_not_the_text(
    errcode: int, misleading_errmsg: str, kind: type[PbxError]
) -> None:
    exc = error_for(errcode, misleading_errmsg, {"errcode": errcode}, endpoint="trunk/create")
    assert type(exc) is kind


def test_empty_errmsg_still_gives_a_message() -> None:
    exc = error_for(40002, "", {"errcode": 40002}, endpoint="trunk/create")
    assert str(exc) == "trunk/create: error (errcode 40002)"
    assert exc.errmsg  # never empty: falls back to the message


def test_invalid_param_list_is_the_detail() -> None:
    params = [{"field": "port", "value": "99999", "validation_type": "less_than_equal"}]
    answer: dict[str, Any] = {
        "errcode": 40002,
        "errmsg": "PARAMETER ERROR",
        "invalid_param_list": params,
        "submsg": "extra keys are fine",
    }
    exc = error_for(40002, "PARAMETER ERROR", answer, endpoint="trunk/create")
    assert isinstance(exc, PbxRejectedError)
    assert exc.detail == params


def test_duplicate_field_list_is_the_detail() -> None:
    fields = [{"field": "name", "value": "office"}]
    answer = {"errcode": 40003, "errmsg": "DUPLICATE KEY VALUE", "duplicate_field_list": fields}
    exc = error_for(40003, "DUPLICATE KEY VALUE", answer, endpoint="trunk/create")
    assert isinstance(exc, PbxDuplicateError)
    assert exc.detail == fields


def test_no_detail_when_the_answer_has_none() -> None:
    exc = error_for(70004, "ACCOUNT IP BLOCKED", {"block_expire_time": 0}, endpoint="get_token")
    assert exc.detail is None


def test_partial_success_is_a_rejection_that_may_have_applied() -> None:
    exc = error_for(1, "PARTIAL SUCCESS", {}, endpoint="trunk/create")
    assert isinstance(exc, PbxRejectedError)
    assert not exc.transient
    assert exc.may_have_applied


def test_a_bad_answer_to_a_create_may_have_created_the_trunk() -> None:
    # Sent with a token from that very base URL: whatever answered, the PBX may have acted on it,
    # so the next run looks the name up before it sends, and a trunk found is this job's.
    exc = PbxBadAnswerError("trunk/create: HTTP 200 with no API answer")
    assert exc.may_have_applied
    assert not exc.transient


TREE = [
    kind for kind in vars(errors).values() if isinstance(kind, type) and issubclass(kind, PbxError)
]


@pytest.mark.parametrize("kind", TREE, ids=[kind.__name__ for kind in TREE])
def test_every_class_of_the_tree_says_when_it_is_raised(kind: type[PbxError]) -> None:
    assert (kind.__doc__ or "").startswith("Raised"), kind.__name__


@pytest.mark.parametrize("kind", [PbxAuthError, LoginRefusedError, PbxTlsError, CircuitOpenError])
def test_what_opens_a_jobs_circuit_makes_the_pbx_unusable_for_it(kind: type[PbxError]) -> None:
    # Until `retry`: none of them is worth another run.
    assert issubclass(kind, PbxUnusableError)
    assert not kind("x").transient


def test_a_certificate_is_not_a_credential_and_an_open_circuit_is_neither() -> None:
    assert not issubclass(PbxTlsError, PbxAuthError)
    assert not issubclass(CircuitOpenError, PbxAuthError)
    assert not issubclass(CircuitOpenError, PbxTlsError)


def test_a_slot_not_had_is_a_request_not_sent() -> None:
    exc = SlotUnavailableError("pbx-001 is saturated", 2.5)
    assert isinstance(exc, PbxError)
    assert not isinstance(exc, PbxUnusableError)
    assert exc.retry_in_s == 2.5
    assert not exc.tried_the_pbx  # counts no try
    assert not exc.may_have_applied
    assert str(exc) == "pbx-001 is saturated"
