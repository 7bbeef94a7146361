"""Whether a token call may go to a PBX, and what a refusal stops: pure decisions, a fake clock."""

from __future__ import annotations

import itertools
from dataclasses import replace
from typing import Any

import pytest

from jobs.item_store import CircuitReason
from worker.pbx.errors import (
    CircuitOpenError,
    LoginRefusedError,
    LoginsPausedError,
    PbxAuthError,
    PbxTlsError,
    PbxTokenCapError,
)
from worker.pbx.login_gate import (
    FAILED_LOGINS_WINDOW_S,
    TOKEN_CAP,
    UNANSWERED_BURST,
    UNANSWERED_SPACING_S,
    Action,
    LoginFacts,
    budget_spent,
    next_step,
    unanswered_pause,
)
from worker.pbx.refusals import (
    REFUSAL_MEMORY_S,
    Refusal,
    Scope,
    is_failed_login,
    scope_of,
)

NOW = 1_700_000_000.0
LIFETIME_S = 1800.0


def _facts(**changes: Any) -> LoginFacts:
    facts = LoginFacts(
        job_circuit=None, device_refusal=None, secret_refusal=None, capped=False,
        unanswered_at=[], failed_at=[], reserved=True,
    )  # fmt: skip
    return replace(facts, **changes)


def _refusal(scope: Scope, errcode: int = -1, at: float = NOW, **changes: Any) -> Refusal:
    errmsg = {-1: "FAILURE", 70004: "ACCOUNT IP BLOCKED", 70087: "IP FORBIDDEN"}.get(errcode, "X")
    refusal = Refusal(
        scope, errcode, errmsg, f"get_token: {errmsg} (errcode {errcode})",
        [{"field": "username", "value": "", "validation_type": "x"}], at, "job-1", "client-7",
    )  # fmt: skip
    return replace(refusal, **changes)


def test_a_client_with_nothing_against_it_logs_in_or_refreshes() -> None:
    assert next_step(_facts(), NOW, refreshable=False) is Action.LOGIN
    assert next_step(_facts(), NOW, refreshable=True) is Action.REFRESH


def test_a_refused_secret_is_not_sent_for_a_day_but_a_refresh_still_may_be() -> None:
    facts = _facts(secret_refusal=_refusal(Scope.CREDENTIALS))
    with pytest.raises(LoginRefusedError) as refused:
        next_step(facts, NOW + REFUSAL_MEMORY_S - 1, refreshable=False)
    assert refused.value.errcode == -1
    assert refused.value.errmsg == (
        "login refused by the PBX for client id 'client-7' (errcode -1 FAILURE) at "
        "2023-11-14T22:13:20Z by job job-1: check client_id/client_secret; not tried again "
        "until the inventory changes the secret or `retry --relogin`"
    )
    assert refused.value.detail == [{"field": "username", "value": "", "validation_type": "x"}]
    assert next_step(facts, NOW, refreshable=True) is Action.REFRESH  # sends no secret
    assert next_step(facts, NOW + REFUSAL_MEMORY_S, refreshable=False) is Action.LOGIN


@pytest.mark.parametrize(
    ("errcode", "says"),
    [(70004, "has blocked this machine's IP"), (70087, "not on the PBX's API allow-list")],
)
def test_a_device_that_refuses_this_ip_gets_nothing_for_a_day(errcode: int, says: str) -> None:
    facts = _facts(device_refusal=_refusal(Scope.DEVICE, errcode))
    for refreshable in (False, True):
        with pytest.raises(LoginRefusedError, match=says) as refused:
            next_step(facts, NOW + 60, refreshable=refreshable)
        assert refused.value.errcode == errcode
        assert "`retry --relogin`" in refused.value.errmsg
    assert next_step(facts, NOW + REFUSAL_MEMORY_S, refreshable=False) is Action.LOGIN


def test_a_jobs_refusal_holds_until_retry_whatever_the_time_and_keeps_the_pbx_answer() -> None:
    circuit = CircuitReason(errcode=10009, errmsg="OPERATION FAILED", detail=[{"field": "x"}])
    facts = _facts(job_circuit=circuit)
    with pytest.raises(CircuitOpenError) as refused:
        next_step(facts, NOW + 10 * REFUSAL_MEMORY_S, refreshable=True)
    assert (refused.value.errcode, refused.value.errmsg) == (10009, "OPERATION FAILED")
    assert refused.value.detail == [{"field": "x"}]


def test_a_spent_failed_login_budget_stops_logins_but_not_refreshes() -> None:
    failed = [(NOW - 600, "job-1"), (NOW - 60, "job-2")]
    facts = _facts(failed_at=failed, reserved=False)
    with pytest.raises(LoginsPausedError) as paused:
        next_step(facts, NOW, refreshable=False)
    assert paused.value.resumes_at == NOW - 600 + FAILED_LOGINS_WINDOW_S
    assert not paused.value.tried_the_pbx
    assert next_step(facts, NOW, refreshable=True) is Action.REFRESH  # sends no secret
    # A remembered refusal says more than the budget does: it fails at once.
    with pytest.raises(LoginRefusedError):
        next_step(
            replace(facts, secret_refusal=_refusal(Scope.CREDENTIALS)), NOW, refreshable=False
        )


def test_the_budget_frees_when_all_but_the_newest_failure_leave_the_window() -> None:
    failed = [(NOW - 900, "job-1"), (NOW - 100, "job-3"), (NOW - 500, "job-2")]
    paused = budget_spent(failed, NOW)
    assert paused.resumes_at == NOW - 500 + FAILED_LOGINS_WINDOW_S
    assert "3 logins to it failed" in str(paused)
    assert "by job job-3" in str(paused)


def test_a_token_cap_answer_pauses_logins_but_not_refreshes() -> None:
    facts = _facts(capped=True)
    with pytest.raises(PbxTokenCapError) as capped:
        next_step(facts, NOW, refreshable=False)
    assert capped.value.errcode == 60002
    assert next_step(facts, NOW, refreshable=True) is Action.REFRESH


def test_unanswered_logins_are_spaced_out_after_the_burst() -> None:
    burst = [NOW - 30, NOW - 20, NOW - 10][:UNANSWERED_BURST]
    assert unanswered_pause(burst[:-1], NOW) is None
    paused = unanswered_pause(burst, NOW)
    assert paused is not None
    assert paused.resumes_at == NOW - 10 + UNANSWERED_SPACING_S
    assert unanswered_pause(burst, NOW - 10 + UNANSWERED_SPACING_S) is None
    # Older than a token's lifetime, they may have issued no token still alive: not counted.
    assert unanswered_pause([at - LIFETIME_S for at in burst], NOW) is None


def test_a_hung_pbx_is_probed_at_most_once_per_spacing_and_never_past_the_token_cap() -> None:
    logins: list[float] = []
    for second in range(int(3 * LIFETIME_S)):  # a PBX that answers nothing for 90 minutes
        now = NOW + second
        if unanswered_pause(logins, now) is None:
            logins.append(now)
    assert logins[:UNANSWERED_BURST] == [NOW, NOW + 1, NOW + 2]
    gaps = [later - earlier for earlier, later in itertools.pairwise(logins)]
    assert min(gaps[UNANSWERED_BURST - 1 :]) >= UNANSWERED_SPACING_S
    for at in logins:  # within any token lifetime, never more than the PBX's cap
        assert sum(1 for other in logins if at <= other < at + LIFETIME_S) <= TOKEN_CAP
    # Not abandoned: within the first 10 minutes (the default retry window) it is probed
    # every 2 minutes after the burst, and later on again.
    assert [at - NOW for at in logins if at < NOW + 600] == [0, 1, 2, 122, 242, 362, 482]
    assert max(gaps) <= LIFETIME_S


@pytest.mark.parametrize(
    ("exc", "endpoint", "scope", "failed_login"),
    [
        (PbxAuthError("x", errcode=-1), "get_token", Scope.CREDENTIALS, True),
        (PbxAuthError("x", errcode=10005), "get_token", Scope.CREDENTIALS, True),
        (PbxAuthError("x", errcode=-1), "refresh_token", Scope.JOB, True),
        (PbxAuthError("x", errcode=70004), "get_token", Scope.DEVICE, True),
        (PbxAuthError("x", errcode=70087), "trunk/create", Scope.DEVICE, False),
        (PbxAuthError("x", errcode=10009), "trunk/create", Scope.JOB, False),
        (PbxTlsError("get_token: TLS handshake failed"), "get_token", Scope.JOB, False),
        (CircuitOpenError("x", errcode=-1), "get_token", Scope.JOB, False),
        (LoginRefusedError("x", errcode=-1), "get_token", Scope.JOB, False),
    ],
)
def test_whom_a_refusal_is_remembered_for_and_whether_it_is_a_failed_login(
    exc: PbxAuthError, endpoint: str, scope: Scope, failed_login: bool
) -> None:
    assert scope_of(exc, endpoint) is scope
    assert is_failed_login(exc, endpoint) is failed_login


def test_a_refusal_record_round_trips_and_a_damaged_one_counts_as_none() -> None:
    refusal = _refusal(Scope.CREDENTIALS)
    assert Refusal.from_json(refusal.to_json()) == refusal
    assert Refusal.from_json(b"{not json") is None
    assert Refusal.from_json('{"scope": "nobody"}') is None
