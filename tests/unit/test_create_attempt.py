"""What a run takes back of what the claim recorded, by how its create requests ended."""

from __future__ import annotations

from dataclasses import replace

import pytest
import redis.asyncio as aioredis

from jobs.item_store import ItemStore
from jobs.records import Item
from tests.unit.items import ITEM
from worker.create_attempt import CreateAttempt, TakeBack
from worker.pbx.errors import (
    PbxConnectionError,
    PbxError,
    PbxRejectedError,
    PbxTokenExpiredError,
    PbxUnreachableError,
)

UNMARK = TakeBack({"maybe_sent": 0}, 0)
KEEP = TakeBack({}, 0)


def _attempt(item: Item = ITEM, max_attempts: int = 6) -> CreateAttempt:
    # Marked by the claim: the first request records nothing more, so no Redis is needed.
    store = ItemStore(aioredis.Redis())  # never connects
    return CreateAttempt(store, item, running={}, marked=True, max_attempts=max_attempts)


async def test_a_request_that_never_left_is_taken_back_whole() -> None:
    assert _attempt().take_back() == TakeBack({"maybe_sent": 0}, -1)


@pytest.mark.parametrize(
    ("failure", "expected"),
    [
        (PbxConnectionError("trunk/create: dropped"), KEEP),  # it may have landed
        (PbxRejectedError("trunk/create: PARAMETER ERROR", errcode=40002), UNMARK),
    ],
)
async def test_the_last_answer_says_whether_the_create_may_have_landed(
    failure: PbxError, expected: TakeBack
) -> None:
    attempt = _attempt()
    await attempt.about_to_send()
    assert attempt.take_back(failure) == expected


async def test_a_create_refused_with_10004_whose_replay_never_left_may_not_have_landed() -> None:
    attempt = _attempt()
    await attempt.about_to_send()
    attempt.refused()  # 10004: the PBX did not act on it; then no slot for the replay
    assert attempt.take_back() == UNMARK  # counted (it was sent), but no lookup needed
    # An earlier run's create may have landed: the mark stays whatever this run did.
    earlier = _attempt(replace(ITEM, maybe_sent=True))
    await earlier.about_to_send()
    earlier.refused()
    assert earlier.take_back() == KEEP


async def test_a_replay_is_not_sent_past_max_attempts() -> None:
    attempt = _attempt(replace(ITEM, attempts=2), max_attempts=3)
    await attempt.about_to_send()  # the third request: within the limit
    attempt.refused()
    with pytest.raises(PbxTokenExpiredError, match=r"TOKEN EXPIRED \(errcode 10004\)"):
        await attempt.about_to_send()  # its replay would be the fourth


async def test_a_request_that_found_no_pbx_to_connect_to_is_taken_back_whole() -> None:
    attempt = _attempt()
    await attempt.about_to_send()
    down = PbxUnreachableError("trunk/create: ClientConnectorError: Cannot connect to host")
    assert attempt.take_back(down) == TakeBack({"maybe_sent": 0}, -1)
    # An earlier run's create may have landed: the count goes, the mark stays.
    earlier = _attempt(replace(ITEM, maybe_sent=True))
    await earlier.about_to_send()
    assert earlier.take_back(down) == TakeBack({}, -1)
