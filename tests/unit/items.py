"""An item as the worker reads it, for the unit tests of what it decides (copy with `replace`)."""

from __future__ import annotations

from jobs.records import Item
from jobs.states import State

ITEM = Item(
    job_id="job", item_no=1, pbx="hq", name="t1", state=State.RUNNING, attempts=0,
    maybe_sent=False, taken_before=False, first_try_at=None, tries=0, deferrals=0,
    attempts_at_retry=0, errcode=None, errmsg="", body=None,
)  # fmt: skip
