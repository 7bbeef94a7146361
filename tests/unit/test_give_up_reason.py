"""The reason a failed item gives: its attempts counted as the report's `attempts` is not."""

from __future__ import annotations

from dataclasses import replace

from jobs.records import Item
from jobs.states import State
from worker.retry_policy import counted

ITEM = Item(
    job_id="job", item_no=1, pbx="hq", name="t1", state=State.RUNNING, attempts=6,
    maybe_sent=False, taken_before=False, first_try_at=None, tries=0, deferrals=0,
    attempts_at_retry=0, errcode=None, errmsg="", body=None,
)  # fmt: skip


def test_attempts_since_a_retry_say_so() -> None:
    assert counted(ITEM, 6) == "6 attempts"
    # The report's `attempts` counts every run (8 here); the reason, this run's.
    retried = replace(ITEM, attempts=8, attempts_at_retry=6)
    assert counted(retried, 2) == "2 attempts since the last retry"
