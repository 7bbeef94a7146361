"""A job is final only once its submit is done; a submit cut short is seen, and `retry` mends it.

A submit stores a job's items and queues their tasks a chunk at a time. Killed part way (or cut
off from Redis), it leaves some items unstored and some stored items without a task: such a job
must not wait forever for items that will never come, nor look finished.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

import pytest
import redis

from core import keys
from jobs.job_retry import JobRetry
from jobs.job_writer import JobWriter, NewItem, SubmitLeaseLostError
from jobs.states import State
from jobs.store import SUBMIT_CUT_SHORT, SUBMIT_DONE, SUBMIT_RUNNING, JobStore
from jobs.transitions import TRANSITION_LUA, Transition
from jobs.watch import FinalListener
from trunks.pbx import PbxEntry

TTL_S = 3600
PBXS = ("pbx-a", "pbx-b")


def _entry(alias: str) -> PbxEntry:
    return PbxEntry(
        pbx=alias, base_url=f"https://{alias}.example.net", client_id="c", client_secret="s"
    )


def _item(n: int, state: State = State.QUEUED) -> NewItem:
    pbx = PBXS[n % 2]
    return NewItem(
        file="trunks.csv", line=n + 1, pbx=pbx, name=f"trunk{n}", type="peer", state=state,
        body={"name": f"trunk{n}"}, errmsg="bad row" if state is State.REJECTED else "",
    )  # fmt: skip


@pytest.fixture
def job_store(redis_url: str) -> Iterator[JobStore]:
    client = redis.Redis.from_url(redis_url)
    yield JobStore(client, TTL_S)
    client.close()


def _new_job(job_store: JobStore) -> JobWriter:
    return job_store.create_job("t", ["trunks.csv"], {a: _entry(a) for a in PBXS})


def _finish_item(job_store: JobStore, job_id: str, item_no: int) -> None:
    script = job_store.client.register_script(TRANSITION_LUA)
    move = Transition(job_id, item_no, State.SUCCEEDED, {"trunk_id": item_no})
    script(keys=move.keys(), args=move.args())


def _lease_runs_out(job_store: JobStore, job_id: str) -> None:
    # As when the submitting process is gone for longer than its lease.
    job_store.client.delete(keys.job_submitter(job_id))


def _numbers(by_pbx: Mapping[str, Iterable[int]] | None) -> dict[str, list[int]]:
    return {pbx: list(numbers) for pbx, numbers in (by_pbx or {}).items()}


def _status(job_store: JobStore, job_id: str) -> dict[str, object]:
    status = job_store.status(job_id)
    assert status is not None
    return status


def test_a_job_is_not_final_until_its_submit_is_done_and_then_says_so(
    job_store: JobStore,
) -> None:
    writer = _new_job(job_store)
    for n in (1, 2):
        writer.add(_item(n))
    writer.finish()
    with FinalListener(job_store.client, writer.job_id) as listener:
        for n in (1, 2):
            _finish_item(job_store, writer.job_id, n)
        status = _status(job_store, writer.job_id)
        assert (status["final"], status["outcome"], status["submit"]) == (
            False, None, SUBMIT_RUNNING,
        )  # fmt: skip
        assert "submitting" not in status["counts"]  # type: ignore[operator]

        writer.done()
        listener.wait(5.0)  # the announcement, not the timeout: checked just below
    status = _status(job_store, writer.job_id)
    assert (status["final"], status["outcome"], status["submit"]) == (True, "success", SUBMIT_DONE)
    assert not job_store.client.exists(keys.job_submitter(writer.job_id))


def test_a_final_transition_announces_nothing_while_the_submit_runs(job_store: JobStore) -> None:
    writer = _new_job(job_store)
    writer.add(_item(1))
    writer.finish()
    pubsub = job_store.client.pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call]
    pubsub.subscribe(keys.job_final_channel(writer.job_id))
    _finish_item(job_store, writer.job_id, 1)
    assert pubsub.get_message(timeout=0.2) is None
    writer.done()
    message = pubsub.get_message(timeout=5)
    assert message is not None
    assert message["data"] == b"final"
    pubsub.close()


def test_a_submit_that_lost_its_lease_was_cut_short(job_store: JobStore) -> None:
    writer = _new_job(job_store)
    writer.add(_item(1))
    writer.flush()
    assert _status(job_store, writer.job_id)["submit"] == SUBMIT_RUNNING
    _lease_runs_out(job_store, writer.job_id)
    status = _status(job_store, writer.job_id)
    assert (status["submit"], status["final"]) == (SUBMIT_CUT_SHORT, False)
    listed = job_store.list_jobs()
    assert [(job["job_id"], job["submit"]) for job in listed] == [(writer.job_id, SUBMIT_CUT_SHORT)]


def test_retry_makes_a_job_cut_short_while_storing_its_chunks_whole(job_store: JobStore) -> None:
    # The path of a small batch: counts first, then items stored (round-robin order) a chunk at
    # a time, each chunk queued once stored. Cut short after two chunks of six items.
    writer = _new_job(job_store)
    items = {n: _item(n, State.REJECTED if n == 6 else State.QUEUED) for n in range(1, 7)}
    for item in items.values():
        writer.tally(item)
    writer.put(6, items[6])
    writer.finish()
    for chunk in ([1, 2], [3, 4]):
        for n in chunk:
            writer.put(n, items[n])
        writer.flush()
    _finish_item(job_store, writer.job_id, 1)  # a worker delivered one already
    _lease_runs_out(job_store, writer.job_id)
    before = _status(job_store, writer.job_id)
    assert before["total"] == 6
    assert before["counts"] == {  # items 5 never stored: counted, but nothing will move it
        "queued": 4, "running": 0, "retrying": 0, "succeeded": 1, "exists": 0, "updated": 0,
        "failed": 0, "rejected": 1, "cancelled": 0,
    }  # fmt: skip

    requeued = _numbers(JobRetry(job_store).retry(writer.job_id))

    assert requeued == {"pbx-a": [2, 4], "pbx-b": [3]}  # every stored item still queued
    status = _status(job_store, writer.job_id)
    assert status["submit"] == SUBMIT_DONE
    assert status["total"] == 5
    assert status["counts"] == {
        "queued": 3, "running": 0, "retrying": 0, "succeeded": 1, "exists": 0, "updated": 0,
        "failed": 0, "rejected": 1, "cancelled": 0,
    }  # fmt: skip
    assert status["pbxs"] == {
        "pbx-a": {"queued": 2, "rejected": 1},
        "pbx-b": {"queued": 1, "succeeded": 1},
    }
    assert [record["line"] for record in job_store.items(writer.job_id)] == [2, 3, 4, 5, 7]
    for n in (2, 3, 4):
        _finish_item(job_store, writer.job_id, n)
    status = _status(job_store, writer.job_id)
    assert (status["final"], status["outcome"]) == (True, "partial")
    assert job_store.client.ttl(keys.job_counts(writer.job_id)) > 0


def test_retry_makes_a_job_cut_short_while_reading_its_batch_again_whole(
    job_store: JobStore,
) -> None:
    # The path of a large batch: items stored as read, the counts only at the end. Cut short
    # after one flush, before any count or task.
    writer = _new_job(job_store)
    for n in (1, 2, 3):
        writer.add(_item(n))
    writer.flush()
    writer.add(_item(4))  # buffered, never written
    _lease_runs_out(job_store, writer.job_id)
    assert _status(job_store, writer.job_id)["submit"] == SUBMIT_CUT_SHORT

    requeued = _numbers(JobRetry(job_store).retry(writer.job_id))

    assert requeued == {"pbx-b": [1, 3], "pbx-a": [2]}
    status = _status(job_store, writer.job_id)
    assert (status["total"], status["counts"]["queued"], status["submit"]) == (3, 3, SUBMIT_DONE)


def test_retry_leaves_a_running_submit_alone(job_store: JobStore) -> None:
    writer = _new_job(job_store)
    writer.add(_item(1))
    writer.finish()
    assert JobRetry(job_store).retry(writer.job_id) == {}
    status = _status(job_store, writer.job_id)
    assert (status["submit"], status["total"], status["counts"]["queued"]) == (
        SUBMIT_RUNNING, 1, 1,
    )  # fmt: skip


def test_a_submit_that_finds_its_lease_run_out_stops_writing(job_store: JobStore) -> None:
    writer = _new_job(job_store)
    writer.add(_item(1))
    writer.flush()
    _lease_runs_out(job_store, writer.job_id)  # stalled: a laptop asleep, Redis out of reach
    writer.add(_item(2))
    with pytest.raises(SubmitLeaseLostError, match=f"'trunkctl retry {writer.job_id}'"):
        writer.flush()
    assert job_store.client.exists(keys.item(writer.job_id, 1))
    assert not job_store.client.exists(keys.item(writer.job_id, 2))
    assert _status(job_store, writer.job_id)["submit"] == SUBMIT_CUT_SHORT
