"""After a transient fault: run again (when), or give up (why). Counts and times in, no I/O."""

from __future__ import annotations

from dataclasses import replace

import pytest

from core.settings import Settings
from tests.unit.items import ITEM
from worker.pbx.errors import (
    PbxConnectionError,
    PbxError,
    PbxServerError,
    PbxTokenCapError,
    PbxTokenLapsedError,
    PbxUnreachableError,
)
from worker.retry_policy import decide

SETTINGS = Settings(max_attempts=6, retry_window_s=600, backoff_base_s=1.0, backoff_max_s=20.0)
SEARCH_503 = PbxServerError("trunk/search: HTTP 503")
CAPPED = PbxTokenCapError("get_token: MAX LIMITATION EXCEEDED (errcode 60002)", errcode=60002)


def _decide(fault: PbxError, *, tries: int = 0, attempts: int = 0, elapsed_s: float = 0.0):  # type: ignore[no-untyped-def]
    item = replace(ITEM, tries=tries)
    return decide(
        item, fault, attempts=attempts, elapsed_s=elapsed_s, settings=SETTINGS, rand=lambda: 1.0
    )


def test_a_fault_is_retried_with_a_growing_backoff_and_counted() -> None:
    first, third = _decide(SEARCH_503), _decide(SEARCH_503, tries=2)
    assert (first.give_up, first.tries, first.delay_s) == (None, 1, 1.0)
    assert (third.give_up, third.tries, third.delay_s) == (None, 3, 4.0)


def test_creates_sent_bound_the_retries() -> None:
    decision = _decide(PbxConnectionError("trunk/create: dropped"), tries=2, attempts=6)
    assert decision.give_up == "gave up after 6 attempts: trunk/create: dropped"


def test_failed_tries_of_any_kind_bound_the_retries_too() -> None:
    # A lookup that keeps failing sends no create: without this bound only the window would stop
    # it, a try every 20 s for 10 minutes, for every such item of a sick PBX.
    assert _decide(SEARCH_503, tries=4, attempts=1).give_up is None
    decision = _decide(SEARCH_503, tries=5, attempts=1)
    assert decision.give_up == "gave up after 6 failed tries: trunk/search: HTTP 503"


def test_the_retry_window_bounds_the_retries() -> None:
    assert _decide(SEARCH_503, tries=1, elapsed_s=597.0).give_up is None  # 597 + 2 s: within
    decision = _decide(SEARCH_503, tries=1, elapsed_s=599.0)
    assert decision.give_up == "gave up after 599 s of retries: trunk/search: HTTP 503"


@pytest.mark.parametrize("tries", [0, 5, 40])
def test_a_pbx_with_all_its_tokens_out_is_waited_out_without_counting_a_try(tries: int) -> None:
    decision = _decide(CAPPED, tries=tries, elapsed_s=60.0)
    assert decision.give_up is None
    assert decision.tries == tries
    assert decision.delay_s == SETTINGS.backoff_max_s  # no hammering: up to the cap, not 1 s
    # ...as long as the window allows.
    assert _decide(CAPPED, elapsed_s=590.0).give_up is not None


def test_a_pbx_that_cannot_be_reached_is_waited_for_within_the_window() -> None:
    # Down or rebooting: nothing reached it, so no try counts; a look every 10-20 s.
    down = PbxUnreachableError("get_token: ClientConnectorError: Cannot connect to host")
    decision = _decide(down, tries=5, elapsed_s=300.0)
    assert (decision.give_up, decision.tries) == (None, 5)
    assert decision.delay_s == SETTINGS.backoff_max_s
    assert _decide(down, tries=5, elapsed_s=590.0).give_up == (
        "gave up after 590 s of retries: get_token: ClientConnectorError: Cannot connect to host"
    )


def test_a_request_whose_token_ran_out_before_its_turn_counts_no_try() -> None:
    # Tokens of a few seconds and a long queue for the PBX: the request never left. It goes on
    # within the window, with the backoff of the tries it has made.
    lapsed = PbxTokenLapsedError(
        "trunk/create: no access token lived until the request's turn (3 tries)", errcode=10004
    )
    decision = _decide(lapsed, tries=5)
    assert (decision.give_up, decision.tries, decision.delay_s) == (None, 5, 20.0)
    assert _decide(lapsed, tries=0).delay_s == 1.0
