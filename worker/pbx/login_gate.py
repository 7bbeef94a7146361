"""Whether a token call may go to a PBX now: pure decisions on what Redis holds and the time.

Two budgets guard a PBX besides the refusals remembered (refusals.py):
- failed logins: Yeastar blocks the caller's IP after 5, so no login while MAX_FAILED_LOGINS
  token calls to the device were refused within FAILED_LOGINS_WINDOW_S (all jobs and workers);
  a call in flight holds a place, given back unless refused. A refresh sends no secret: not held;
- unanswered logins: a PBX that accepts connections but answers nothing is probed, neither
  hammered nor abandoned: after UNANSWERED_BURST, one every UNANSWERED_SPACING_S, and none while
  TOKEN_CAP tokens may be out. `retry` starts the count afresh.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from jobs.item_store import CircuitReason
from jobs.records import iso_time
from worker.pbx.errors import CircuitOpenError, LoginsPausedError, PbxTokenCapError
from worker.pbx.refusals import Refusal
from worker.pbx.token_pair import DEFAULT_ACCESS_LIFETIME_S

FAILED_LOGINS_WINDOW_S = 30 * 60
MAX_FAILED_LOGINS = 2
UNANSWERED_BURST = 3
UNANSWERED_SPACING_S = 120.0
TOKEN_CAP = 8  # valid access tokens per API client (yeastar-api.md)


@dataclass(frozen=True, slots=True)
class LoginFacts:
    """What Redis held for a PBX API client when this process took its fetch lock."""

    job_circuit: CircuitReason | None  # this job's, for this device, until `retry`
    device_refusal: Refusal | None
    secret_refusal: Refusal | None  # of the secret this process would send
    capped: bool  # the PBX answered 60002 lately
    unanswered_at: Sequence[float]  # logins without an answer within a token's lifetime
    failed_at: Sequence[tuple[float, str]]  # the device's refused token calls (time, job id)
    reserved: bool  # a place in the failed-login budget was taken for this fetch


class Action(Enum):
    """What a fetch does."""

    REFRESH = "refresh"
    LOGIN = "login"


def next_step(
    facts: LoginFacts,
    now: float,
    *,
    refreshable: bool,
    probe_every_s: float = UNANSWERED_SPACING_S,
) -> Action:
    """Refresh or log in, or raise why not: LoginRefusedError for a refusal in force,
    LoginsPausedError while a budget says wait, PbxTokenCapError after a 60002."""
    if facts.job_circuit is not None:  # in force until `retry`, whatever the secret
        raise CircuitOpenError.from_reason(facts.job_circuit)
    if facts.device_refusal is not None and facts.device_refusal.in_force(now):
        raise facts.device_refusal.error()
    secret = facts.secret_refusal
    if not refreshable and secret is not None and secret.in_force(now):
        raise secret.error()
    if refreshable:
        # A refresh sends no secret, and a refused one forgets its pair: the next fetch is a
        # login, which the budget holds back.
        return Action.REFRESH
    if not facts.reserved:
        raise budget_spent(facts.failed_at, now)
    if facts.capped:
        # The PBX said 8 tokens are out: wait for one to expire instead of asking again.
        raise PbxTokenCapError("get_token: MAX LIMITATION EXCEEDED (errcode 60002)", errcode=60002)
    paused = unanswered_pause(facts.unanswered_at, now, probe_every_s=probe_every_s)
    if paused is not None:
        raise paused
    return Action.LOGIN


def budget_spent(failed_at: Sequence[tuple[float, str]], now: float) -> LoginsPausedError:
    """The pause while a device's failed-login budget is spent (`failed_at`: its refused or
    in-flight token calls within the window, oldest first)."""
    recent = sorted(failed_at)[-MAX_FAILED_LOGINS:]
    # Free again once all but the newest have left the window.
    resumes_at = (recent[0][0] if recent else now) + FAILED_LOGINS_WINDOW_S
    last_at, last_job = recent[-1] if recent else (now, "?")
    return LoginsPausedError(
        f"not logging in to this PBX: {len(failed_at)} logins to it failed (or are under way) "
        f"in the last {FAILED_LOGINS_WINDOW_S // 60} minutes, the last at {iso_time(last_at)} "
        f"by job {last_job}, and it blocks this IP after 5 failed logins; next try after "
        f"{iso_time(resumes_at)}",
        resumes_at=resumes_at,
    )


def unanswered_pause(
    unanswered_at: Sequence[float],
    now: float,
    *,
    lifetime_s: float = DEFAULT_ACCESS_LIFETIME_S,
    probe_every_s: float = UNANSWERED_SPACING_S,
) -> LoginsPausedError | None:
    """The pause before the next login to a PBX whose recent logins got no answer, if any
    (after UNANSWERED_BURST of them, one every `probe_every_s`)."""
    recent = sorted(at for at in unanswered_at if at > now - lifetime_s)
    if len(recent) >= TOKEN_CAP:
        resumes_at = recent[-TOKEN_CAP] + lifetime_s
        return LoginsPausedError(
            f"get_token: {len(recent)} logins in the last {lifetime_s / 60:.0f} minutes got no "
            f"answer, and each may have left a token on the PBX ({TOKEN_CAP} at most): no login "
            f"before {iso_time(resumes_at)}",
            resumes_at=resumes_at,
        )
    if len(recent) >= UNANSWERED_BURST and now < recent[-1] + probe_every_s:
        resumes_at = recent[-1] + probe_every_s
        return LoginsPausedError(
            f"get_token: {len(recent)} logins in the last {lifetime_s / 60:.0f} minutes got no "
            f"answer (the PBX accepts connections but does not answer): it is probed once every "
            f"{probe_every_s:.0f} s; next login after {iso_time(resumes_at)}",
            resumes_at=resumes_at,
        )
    return None
