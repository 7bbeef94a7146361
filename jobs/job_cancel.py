"""`cancel` in the job store: a job's items that no create of has left end `cancelled`.

First every circuit of the job opens with that reason, so that no worker sends another request of
it; then every item no worker holds, and not final, is moved to `cancelled`. A create in flight
finishes as usual; `retry` queues cancelled items again.
"""

from __future__ import annotations

import json
import time

from core import keys
from core.lua import lua
from jobs.job_writer import WRITE_BATCH
from jobs.records import iso_time
from jobs.store import JobStore, highest_item_number

CANCEL_REASON = "cancelled by 'trunkctl cancel'"

# KEYS: job, job circuit. ARGV: the circuit's reason (JSON), cancelled_at, then the circuit field
# of every device of the job. 0 when there is no such job.
MARK_CANCELLED_LUA = lua(__file__, "mark_cancelled")
# KEYS: job counts, job pbx-counts. ARGV: item key prefix, first and last item number, the time,
# the reason. Cancels the items of that range that are not final and that no task holds.
CANCEL_ITEMS_LUA = lua(__file__, "cancel_items")


def cancel_job(store: JobStore, job_id: str) -> bool:
    """Cancel what is left of a job (see the module's doc); False when there is no such job."""
    client = store.client
    now = time.time()
    reason = json.dumps({"errcode": None, "errmsg": CANCEL_REASON, "cancelled": True})
    entries = client.hvals(keys.job_pbxs(job_id))
    fields = sorted({keys.circuit_field(json.loads(entry)["base_url"]) for entry in entries})
    marked = client.eval(
        MARK_CANCELLED_LUA, 2, keys.job(job_id), keys.job_circuit(job_id), reason, iso_time(now),
        *fields,
    )  # fmt: skip
    if not marked:
        return False
    cancel_items = client.register_script(CANCEL_ITEMS_LUA)
    last = highest_item_number(store.job(job_id))
    for first in range(1, last + 1, WRITE_BATCH):
        cancel_items(
            keys=[keys.job_counts(job_id), keys.job_pbx_counts(job_id)],
            args=[
                keys.item_prefix(job_id), first, min(first + WRITE_BATCH - 1, last),
                iso_time(now), CANCEL_REASON,
            ],
        )  # fmt: skip
    return True
