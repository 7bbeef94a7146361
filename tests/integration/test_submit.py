"""Submitter against a real Redis, no worker: what a submit stores and queues, in what order.

Batches up to KEEP_ROWS rows are kept from the validation pass and stored a chunk at a time, each
chunk queued as soon as it is stored; larger ones are read twice. Both ways must store and queue
exactly the same.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from core import keys
from core.errors import TrunkctlError
from jobs import store as store_module
from jobs.queue import TaskQueue
from jobs.store import JobStore
from producer import submit as submit_module
from producer.submit import Submitter
from tests.e2e import register_body, write_trunks_csv
from tests.redis_server import free_port
from trunks.cells import body_cells

QUEUE = "submit-tests"
ALIASES = ("pbx-a", "pbx-b", "pbx-c")


@pytest.fixture(params=["kept", "read-twice"])
def submitter(
    request: pytest.FixtureRequest, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Submitter]:
    if request.param == "read-twice":
        monkeypatch.setattr(submit_module, "KEEP_ROWS", 3)  # every batch below is larger
    client = redis.Redis.from_url(redis_url)
    yield Submitter(JobStore(client, 3600), TaskQueue(client, QUEUE))
    client.close()


@pytest.fixture
def pbxs(tmp_path: Path) -> Path:
    path = tmp_path / "pbxs.csv"
    path.write_text(
        "pbx,base_url,client_id,client_secret\n"
        + "".join(f"{a},https://{a}.example.net:8088,id-{a},secret-{a}\n" for a in ALIASES),
        encoding="utf-8",
    )
    return path


def _rows() -> list[tuple[str, dict[str, Any]]]:
    """3 trunks on pbx-a, 2 on pbx-b, 1 on pbx-c, PBX by PBX."""
    counts = {"pbx-a": 3, "pbx-b": 2, "pbx-c": 1}
    return [
        (alias, register_body(f"{alias}-t{n}", len(alias) * 10 + n))
        for alias, count in counts.items()
        for n in range(count)
    ]


def _queued_items(client: redis.Redis) -> list[tuple[str, int]]:
    messages = [json.loads(raw) for raw in reversed(client.lrange(QUEUE, 0, -1))]
    return [tuple(json.loads(base64.b64decode(m["body"]))[0]) for m in messages]


def test_items_are_stored_in_input_order_and_queued_round_robin(
    submitter: Submitter, pbxs: Path, tmp_path: Path
) -> None:
    rows = _rows()
    result = submitter.submit([write_trunks_csv(tmp_path / "t.csv", rows)], pbxs)
    assert result.job_id is not None
    assert (result.queued, result.rejected) == (6, 0)
    records = list(submitter.store.items(result.job_id))
    assert [(r["line"], r["pbx"], r["name"], r["state"]) for r in records] == [
        (n + 2, alias, body["name"], "queued") for n, (alias, body) in enumerate(rows)
    ]
    client = submitter.store.client
    for item_no, (_alias, body) in enumerate(rows, start=1):
        stored = json.loads(client.hget(keys.item(result.job_id, item_no), "body") or "{}")
        assert body_cells(stored) == body_cells(body)  # the body the schema produced
    # One per PBX first: pbx-a 1, pbx-b 4, pbx-c 6, then pbx-a 2, pbx-b 5, then pbx-a 3.
    job = result.job_id
    assert _queued_items(client) == [(job, 1), (job, 4), (job, 6), (job, 2), (job, 5), (job, 3)]
    status = submitter.store.status(job)
    assert status is not None
    assert status["total"] == 6
    assert status["counts"]["queued"] == 6
    assert status["pbxs"] == {
        "pbx-a": {"queued": 3},
        "pbx-b": {"queued": 2},
        "pbx-c": {"queued": 1},
    }


def test_skip_invalid_stores_the_rejected_rows_and_queues_the_rest(
    submitter: Submitter, pbxs: Path, tmp_path: Path
) -> None:
    rows = _rows()
    rows[1] = ("pbx-a", {**rows[1][1], "port": 70000})
    trunks = write_trunks_csv(tmp_path / "t.csv", rows)
    result = submitter.submit([trunks], pbxs, skip_invalid=True)
    assert result.job_id is not None
    assert (result.queued, result.rejected) == (5, 1)
    records = list(submitter.store.items(result.job_id))
    assert [r["state"] for r in records] == ["queued", "rejected", *["queued"] * 4]
    assert "port" in records[1]["errmsg"]
    assert (result.job_id, 2) not in _queued_items(submitter.store.client)
    status = submitter.store.status(result.job_id)
    assert status is not None
    assert (status["counts"]["queued"], status["counts"]["rejected"]) == (5, 1)


def test_a_refused_batch_stores_and_queues_nothing(
    submitter: Submitter, pbxs: Path, tmp_path: Path
) -> None:
    rows = _rows()
    rows[-1] = ("pbx-c", {**rows[-1][1], "port": 70000})  # the last row: all others were read
    result = submitter.submit([write_trunks_csv(tmp_path / "t.csv", rows)], pbxs)
    assert result.job_id is None
    assert (result.queued, result.report.invalid) == (0, 1)
    client = submitter.store.client
    assert client.zcard(keys.JOBS_INDEX) == 0
    assert not client.keys(f"{keys.PREFIX}job:*")
    assert not client.exists(QUEUE)


def test_two_jobs_that_draw_the_same_id_stay_apart(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two submits in the same second may draw the same id: the second draws again.
    drawn = iter(["20261126-101500-aaaa", "20261126-101500-aaaa", "20261126-101500-bbbb"])
    monkeypatch.setattr(store_module, "new_job_id", lambda _now: next(drawn))
    store = JobStore(redis.Redis.from_url(redis_url), 3600)
    first = store.create_job("first", ["a.csv"], {})
    second = store.create_job("second", ["b.csv"], {})
    assert (first.job_id, second.job_id) == ("20261126-101500-aaaa", "20261126-101500-bbbb")
    assert (store.job(first.job_id) or {}).get("label") == "first"
    assert store.client.ttl(keys.job(second.job_id)) > 0


def test_expired_jobs_leave_the_jobs_index_as_new_ones_come(redis_url: str) -> None:
    store = JobStore(redis.Redis.from_url(redis_url), 3600)
    old = [store.create_job(f"old-{n}", ["a.csv"], {}).job_id for n in range(3)]
    for job_id in old:
        store.client.delete(keys.job(job_id))  # as their TTL would
    new = store.create_job("new", ["b.csv"], {}).job_id
    assert [raw.decode() for raw in store.client.zrange(keys.JOBS_INDEX, 0, -1)] == [new]


def test_redis_lost_while_queuing_names_the_job_and_how_to_mend_it(
    redis_url: str, pbxs: Path, tmp_path: Path
) -> None:
    # The job store answers; the queue's Redis connection is gone (here: nothing listens).
    dead = redis.Redis.from_url(f"redis://127.0.0.1:{free_port()}/1", socket_connect_timeout=1)
    store = JobStore(redis.Redis.from_url(redis_url), 3600)
    submitter = Submitter(store, TaskQueue(dead, QUEUE))
    trunks = write_trunks_csv(tmp_path / "t.csv", _rows())
    with pytest.raises(TrunkctlError) as raised:
        submitter.submit([trunks], pbxs)
    [job_id] = [raw.decode() for raw in store.client.zrange(keys.JOBS_INDEX, 0, -1)]
    message = str(raised.value)
    assert message.startswith(f"lost Redis while storing job {job_id} (")
    assert f"'trunkctl retry {job_id}'" in message
