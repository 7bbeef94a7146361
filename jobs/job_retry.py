"""`retry` in the job store: failed items back to queued, a cut-short job made whole.

Every retried item starts a new round without its last outcome and its retry clock; its attempts
so far are kept (`attempts_at_retry` marks where the round's count starts). Its PBX's circuit
closes, so that one login is tried with what is stored now (a refused secret stays refused for a
day, see worker.pbx.refusals, unless `relogin`). The job's keys get the full TTL again.
"""

from __future__ import annotations

from array import array
from collections.abc import Mapping
from typing import TYPE_CHECKING

from core import keys
from core.lua import lua
from jobs.job_writer import WRITE_BATCH
from jobs.records import iso_time
from jobs.secret_fingerprint import fingerprint, stored_fingerprint_key
from jobs.states import RETRIED_STATES, State
from jobs.store import JobStore, decoded, highest_item_number
from jobs.transitions import TRANSITION_LUA, Transition, applied

if TYPE_CHECKING:  # pydantic loads only for what reads entries (see jobs.store)
    from trunks.pbx import PbxEntry

# KEYS: job counts, job pbx-counts, job, submitter lease. ARGV: item key prefix, highest item
# number. If the job's submit was cut short, makes the job whole from the items stored, ends its
# submit and returns the queued ones as {number, pbx, ...}; else false. One script, so that no
# transition slips between check, read and write.
RECOUNT_LUA = lua(__file__, "recount")
# What a retried item starts again without: its last outcome and its retry clock. `maybe_sent`
# stays: a create of an earlier run may have landed, so the name is looked up before a re-send.
RETRY_RESET: dict[str, str | int] = {
    "errcode": "", "errmsg": "", "detail": "", "finished_at": "", "tries": 0, "first_try_at": "",
    "deferrals": 0,
}  # fmt: skip


class JobRetry:
    """Retries of the jobs of one job store."""

    def __init__(self, store: JobStore) -> None:
        self._store = store
        self._client = store.client

    def retry(
        self,
        job_id: str,
        new_entries: Mapping[str, PbxEntry] | None = None,
        *,
        relogin: bool = False,
    ) -> dict[str, array[int]] | None:
        """Move the job's failed items back to queued; their numbers by PBX (None: no such job),
        with the queued items of a cut-short submit made whole. `new_entries` replace the stored
        ones; `relogin` forgets a refused secret's or IP's day (see the module's doc)."""
        job = self._store.job(job_id)
        if job is None:
            return None
        if new_entries:
            self._store.store_entries(new_entries.values())
            used = set(self._client.hkeys(keys.job_pbxs(job_id)))
            replaced = {
                alias: entry.stored_json()
                for alias, entry in new_entries.items()
                if alias.encode() in used
            }
            if replaced:
                self._client.hset(keys.job_pbxs(job_id), mapping=replaced)  # type: ignore[arg-type] # key type
        requeued: dict[str, array[int]] = self._recount(job_id, highest_item_number(job))
        failed = self._failed_items(job_id, highest_item_number(job))
        self._close_circuits(job_id, set(failed), relogin=relogin)
        script = self._client.register_script(TRANSITION_LUA)
        now = iso_time()
        for pbx, items in failed.items():
            with self._client.pipeline(transaction=False) as pipe:
                for item_no, attempts in items:
                    transition = Transition(
                        job_id, item_no, State.QUEUED, {
                            **RETRY_RESET, "attempts_at_retry": attempts, "updated_at": now,
                        }, requeue=True,
                    )  # fmt: skip
                    script(keys=transition.keys(), args=transition.args(), client=pipe)
                results = pipe.execute()
            for (item_no, _), result in zip(items, results, strict=True):
                if applied(result):
                    requeued.setdefault(pbx, array("L")).append(item_no)
        self._extend(job_id, highest_item_number(job))
        return requeued

    def _recount(self, job_id: str, numbered: int) -> dict[str, array[int]]:
        """If the job's submit was cut short: the job made whole (see RECOUNT_LUA) and its
        queued items, by PBX, to queue again; otherwise nothing."""
        recount = self._client.register_script(RECOUNT_LUA)
        found = recount(
            keys=[
                keys.job_counts(job_id), keys.job_pbx_counts(job_id), keys.job(job_id),
                keys.job_submitter(job_id),
            ],
            args=[keys.item_prefix(job_id), numbered],
        )  # fmt: skip
        queued: dict[str, array[int]] = {}
        for item_no, pbx in zip(found[::2], found[1::2], strict=True) if found else ():
            queued.setdefault(decoded(pbx), array("L")).append(int(item_no))
        return queued

    def _failed_items(self, job_id: str, total: int) -> dict[str, list[tuple[int, int]]]:
        """(item number, attempts so far) of the items to retry (failed, cancelled), by PBX."""
        failed: dict[str, list[tuple[int, int]]] = {}
        for start in range(1, total + 1, WRITE_BATCH):
            numbers = range(start, min(start + WRITE_BATCH, total + 1))
            with self._client.pipeline(transaction=False) as pipe:
                for item_no in numbers:
                    pipe.hmget(keys.item(job_id, item_no), "state", "pbx", "attempts")
                for item_no, (state, pbx, attempts) in zip(numbers, pipe.execute(), strict=True):
                    if state is not None and decoded(state) in RETRIED_STATES:
                        failed.setdefault(decoded(pbx), []).append((item_no, int(attempts or 0)))
        return failed

    def _close_circuits(self, job_id: str, aliases: set[str], *, relogin: bool) -> None:
        """Close the PBXs' circuits for the job, and start the probing of those that did not
        answer afresh; `relogin`: forget their current secrets' refusals, and their devices'."""
        from trunks.pbx import PbxEntry  # noqa: PLC0415 - see the import at the top

        entries = self._client.hgetall(keys.job_pbxs(job_id))
        fingerprint_key = stored_fingerprint_key(self._client) if relogin else None
        with self._client.pipeline(transaction=False) as pipe:
            for alias in aliases:
                raw = entries.get(alias.encode())
                if not raw:
                    continue
                entry = PbxEntry.from_stored(raw)
                pipe.hdel(keys.job_circuit(job_id), keys.circuit_field(entry.base_url))
                pipe.delete(keys.token_unanswered(entry.base_url, entry.client_id))
                if relogin:
                    pipe.delete(keys.device_refused(entry.base_url))
                if fingerprint_key is not None:
                    secret = fingerprint(fingerprint_key, entry.client_secret.get_secret_value())
                    pipe.hdel(keys.token_refused_secrets(entry.base_url, entry.client_id), secret)
            pipe.execute()

    def _extend(self, job_id: str, total: int) -> None:
        with self._client.pipeline(transaction=False) as pipe:
            for key in (
                keys.job(job_id), keys.job_counts(job_id), keys.job_pbx_counts(job_id),
                keys.job_pbxs(job_id), keys.job_circuit(job_id),
            ):  # fmt: skip
                pipe.expire(key, self._store.ttl_s)
            for item_no in range(1, total + 1):
                pipe.expire(keys.item(job_id, item_no), self._store.ttl_s)
                if len(pipe) >= WRITE_BATCH * 2:
                    pipe.execute()
            pipe.execute()
