"""The reason a failed item gives: its attempts counted as the report's `attempts` is not."""

from __future__ import annotations

from dataclasses import replace

from tests.unit.items import ITEM as BASE_ITEM
from worker.retry_policy import counted

ITEM = replace(BASE_ITEM, attempts=6)


def test_attempts_since_a_retry_say_so() -> None:
    assert counted(ITEM, 6) == "6 attempts"
    # The report's `attempts` counts every round's (8 here); the reason, this round's.
    retried = replace(ITEM, attempts=8, attempts_at_retry=6)
    assert counted(retried, 2) == "2 attempts since the last retry"
