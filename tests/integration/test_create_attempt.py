"""What a run records of its create requests as they leave, and takes back when they fail."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
import redis.asyncio as aioredis

from core import keys
from jobs.item_store import CircuitReason, ItemStore
from jobs.records import Item
from tests.unit.items import ITEM
from worker.create_attempt import NOTHING_BACK, CreateAttempt, TakeBack
from worker.pbx.errors import (
    CircuitOpenError,
    PbxConnectionError,
    PbxError,
    PbxRejectedError,
    PbxTokenExpiredError,
    PbxUnreachableError,
)

UNMARK = TakeBack({"maybe_sent": 0}, 0)
# The job's circuit field of the item's device.
FIELD = keys.circuit_field("https://pbx.example.net:8088")


@pytest.fixture
async def client(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(redis_url)
    await client.hset(
        keys.item(ITEM.job_id, ITEM.item_no), mapping={"state": "running", "pbx": ITEM.pbx}
    )
    yield client
    await client.aclose()


@pytest.fixture
def store(client: aioredis.Redis) -> ItemStore:
    return ItemStore(client)


async def _fields(client: aioredis.Redis) -> dict[bytes, bytes]:
    return await client.hgetall(keys.item(ITEM.job_id, ITEM.item_no))  # type: ignore[no-any-return]


def _attempt(store: ItemStore, item: Item = ITEM, max_attempts: int = 6) -> CreateAttempt:
    return CreateAttempt(store, item, running={}, max_attempts=max_attempts, circuit_field=FIELD)


async def test_a_request_is_counted_and_marked_right_before_it_leaves(
    client: aioredis.Redis, store: ItemStore
) -> None:
    attempt = _attempt(store)
    assert attempt.take_back() == NOTHING_BACK  # nothing left, nothing recorded
    assert b"attempts" not in await _fields(client)
    await attempt.about_to_send()
    fields = await _fields(client)
    assert (fields[b"attempts"], fields[b"maybe_sent"]) == (b"1", b"1")


@pytest.mark.parametrize(
    "reason",
    [
        CircuitReason(errcode=10009, errmsg="OPERATION FAILED"),  # refused in another process
        CircuitReason(errcode=None, errmsg="cancelled by 'trunkctl cancel'", cancelled=True),
    ],
)
async def test_a_request_of_a_job_whose_circuit_opened_is_stopped_and_not_counted(
    client: aioredis.Redis, store: ItemStore, reason: CircuitReason
) -> None:
    await store.open_circuit(ITEM.job_id, FIELD, reason)
    attempt = _attempt(store)
    with pytest.raises(CircuitOpenError) as info:
        await attempt.about_to_send()
    assert (info.value.errcode, info.value.errmsg) == (reason["errcode"], reason["errmsg"])
    assert info.value.cancelled == reason.get("cancelled", False)
    assert b"attempts" not in await _fields(client)
    assert attempt.take_back() == NOTHING_BACK


@pytest.mark.parametrize(
    ("failure", "expected"),
    [
        (PbxConnectionError("trunk/create: dropped"), NOTHING_BACK),  # it may have landed
        (PbxRejectedError("trunk/create: PARAMETER ERROR", errcode=40002), UNMARK),
    ],
)
async def test_the_last_answer_says_whether_the_create_may_have_landed(
    store: ItemStore, failure: PbxError, expected: TakeBack
) -> None:
    attempt = _attempt(store)
    await attempt.about_to_send()
    assert attempt.take_back(failure) == expected


async def test_a_create_refused_with_10004_whose_replay_never_left_may_not_have_landed(
    store: ItemStore,
) -> None:
    attempt = _attempt(store)
    await attempt.about_to_send()
    attempt.refused()  # 10004: the PBX did not act on it; then no slot for the replay
    assert attempt.take_back() == UNMARK  # counted (it was sent), but no lookup needed
    # An earlier run's create may have landed: the mark stays whatever this run did.
    earlier = _attempt(store, replace(ITEM, maybe_sent=True))
    await earlier.about_to_send()
    earlier.refused()
    assert earlier.take_back() == NOTHING_BACK


async def test_a_replay_is_not_sent_past_max_attempts(store: ItemStore) -> None:
    attempt = _attempt(store, replace(ITEM, attempts=2), max_attempts=3)
    await attempt.about_to_send()  # the third request: within the limit
    attempt.refused()
    with pytest.raises(PbxTokenExpiredError, match=r"TOKEN EXPIRED \(errcode 10004\)"):
        await attempt.about_to_send()  # its replay would be the fourth


async def test_a_request_that_found_no_pbx_to_connect_to_is_taken_back_whole(
    store: ItemStore,
) -> None:
    attempt = _attempt(store)
    await attempt.about_to_send()
    down = PbxUnreachableError("trunk/create: ClientConnectorError: Cannot connect to host")
    assert attempt.take_back(down) == TakeBack({"maybe_sent": 0}, -1)
    # An earlier run's create may have landed: the count goes, the mark stays.
    earlier = _attempt(store, replace(ITEM, maybe_sent=True))
    await earlier.about_to_send()
    assert earlier.take_back(down) == TakeBack({}, -1)
