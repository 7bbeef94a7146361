"""ItemStore and TRANSITION_LUA against a real Redis: claims, circuits, and consistent counts."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import redis
import redis.asyncio as aioredis

from core import keys
from jobs.item_store import ItemStore, final_transition
from jobs.job_writer import NewItem
from jobs.states import State
from jobs.store import JobStore
from jobs.transitions import Transition
from jobs.watch import FinalListener
from trunks.pbx import PbxEntry

TTL_S = 3600
CLAIM = {"max_attempts": 5, "now": 1_790_000_000.0}
LOCK_MS = 30_000


def _entry(alias: str) -> PbxEntry:
    return PbxEntry(
        pbx=alias,
        base_url=f"https://{alias}.example.net:8088",
        client_id=f"id-{alias}",
        client_secret=f"secret-{alias}",
    )


def _field(alias: str) -> str:
    return keys.circuit_field(_entry(alias).base_url)


@pytest.fixture
def job_store(redis_url: str) -> Iterator[JobStore]:
    client = redis.Redis.from_url(redis_url)
    yield JobStore(client, TTL_S)
    client.close()


@pytest.fixture
async def store(redis_url: str) -> AsyncIterator[ItemStore]:
    client = aioredis.Redis.from_url(redis_url)
    yield ItemStore(client)
    await client.aclose()


@pytest.fixture
def job_id(job_store: JobStore) -> str:
    """A job of 5 items: 1-3 on pbx-a, 4 on pbx-b, 5 rejected on pbx-b."""
    writer = job_store.create_job(
        "test", ["trunks.csv"], {a: _entry(a) for a in ("pbx-a", "pbx-b")}
    )
    for line, (pbx, state) in enumerate(
        [
            ("pbx-a", State.QUEUED),
            ("pbx-a", State.QUEUED),
            ("pbx-a", State.QUEUED),
            ("pbx-b", State.QUEUED),
            ("pbx-b", State.REJECTED),
        ],
        start=2,
    ):
        writer.add(
            NewItem(
                file="trunks.csv",
                line=line,
                pbx=pbx,
                name=f"trunk{line}",
                type="peer",
                state=state,
                body={"name": f"trunk{line}", "type": "peer"},
                errmsg="bad row" if state is State.REJECTED else "",
            )
        )
    writer.finish()
    writer.done()
    return writer.job_id


def _status(job_store: JobStore, job_id: str) -> dict[str, Any]:
    status = job_store.status(job_id)
    assert status is not None
    return status


def _counts(job_store: JobStore, job_id: str) -> dict[str, int]:
    counts: dict[str, int] = _status(job_store, job_id)["counts"]
    assert sum(counts.values()) == 5  # every item in exactly one state
    return {state: n for state, n in counts.items() if n}


def _move(job_id: str, item_no: int, state: State, **fields: Any) -> Transition:
    return Transition(job_id, item_no, state, {"updated_at": "now", **fields})


async def test_claim_returns_item_entry_and_no_circuit(store: ItemStore, job_id: str) -> None:
    claim = await store.claim(job_id, 4, "task-1", LOCK_MS, **CLAIM)
    assert claim is not None
    assert claim.item is not None
    assert (claim.item.pbx, claim.item.name, claim.item.state) == ("pbx-b", "trunk5", State.QUEUED)
    assert claim.item.body == {"name": "trunk5", "type": "peer"}
    assert claim.entry == _entry("pbx-b")
    assert claim.entry is not None
    assert claim.entry.client_secret.get_secret_value() == "secret-pbx-b"
    assert claim.circuit is None


async def test_a_claim_moves_an_item_it_will_send_to_running_uncounted(
    store: ItemStore, job_store: JobStore, job_id: str
) -> None:
    claim = await store.claim(job_id, 1, "task-1", LOCK_MS, **CLAIM)
    assert claim is not None
    assert claim.item is not None
    assert claim.item.state is State.QUEUED  # as it was: the delivery decides from that
    item = await store.load(job_id, 1)
    assert item is not None
    # Counted and marked only right before its create leaves (see mark_sending): a run that
    # never gets its PBX's slot, or is killed meanwhile, leaves `attempts` as it was.
    assert (item.state, item.maybe_sent, item.attempts) == (State.RUNNING, False, 0)
    assert item.first_try_at == CLAIM["now"]
    assert _counts(job_store, job_id) == {"queued": 3, "running": 1, "rejected": 1}


@pytest.mark.parametrize(
    ("item_no", "prepare"),
    [
        pytest.param(1, {"maybe_sent": 1}, id="maybe-sent-before: looked up first"),
        pytest.param(1, {"attempts": 5}, id="no attempts left"),
        pytest.param(5, {}, id="rejected"),
        pytest.param(4, {"circuit": 1}, id="circuit open"),
    ],
)
async def test_a_claim_leaves_an_item_it_will_not_plainly_send_as_it_was(
    store: ItemStore, job_store: JobStore, job_id: str, item_no: int, prepare: dict[str, int]
) -> None:
    if prepare.pop("circuit", None):
        await store.open_circuit(job_id, _field("pbx-b"), {"errcode": -1, "errmsg": "FAILURE"})
    if prepare:
        job_store.client.hset(keys.item(job_id, item_no), mapping=prepare)
    before = _counts(job_store, job_id)
    claim = await store.claim(job_id, item_no, "task-1", LOCK_MS, **CLAIM)
    assert claim is not None
    assert _counts(job_store, job_id) == before


async def test_a_claimed_item_cannot_be_claimed_until_its_owner_unlocks(
    store: ItemStore, job_id: str
) -> None:
    assert await store.claim(job_id, 1, "task-1", LOCK_MS, **CLAIM) is not None
    assert await store.claim(job_id, 1, "task-2", LOCK_MS, **CLAIM) is None
    assert (
        await store.claim(job_id, 2, "task-2", LOCK_MS, **CLAIM) is not None
    )  # other items are free
    await store.unlock(job_id, 1, "task-2")  # not the owner: nothing happens
    assert await store.claim(job_id, 1, "task-2", LOCK_MS, **CLAIM) is None
    await store.unlock(job_id, 1, "task-1")
    assert await store.claim(job_id, 1, "task-2", LOCK_MS, **CLAIM) is not None


async def test_concurrent_claims_have_one_winner(store: ItemStore, job_id: str) -> None:
    claims = await asyncio.gather(
        *(store.claim(job_id, 3, f"t{n}", LOCK_MS, **CLAIM) for n in range(10))
    )
    assert sum(claim is not None for claim in claims) == 1


async def _claimable_within(store: ItemStore, job_id: str, item_no: int, within_s: float) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_s
    while await store.claim(job_id, item_no, "next", LOCK_MS, **CLAIM) is None:
        assert loop.time() < deadline, f"item {item_no} still claimed after {within_s} s"
        await asyncio.sleep(0.01)


async def test_a_claim_lock_expires(store: ItemStore, job_id: str) -> None:
    assert await store.claim(job_id, 1, "crashed", 50, **CLAIM) is not None
    store.let_go(job_id, 1)  # its process died: nobody renews it
    await _claimable_within(store, job_id, 1, 2)


async def test_a_claim_lives_as_long_as_its_run(store: ItemStore, job_id: str) -> None:
    # A run longer than the lock's lifetime keeps its claim: a redelivered task must not take
    # the item (and send it) while this run's create may be in flight.
    assert await store.claim(job_id, 1, "long-run", 150, **CLAIM) is not None
    await asyncio.sleep(0.6)  # four lifetimes of the lock
    assert await store.claim(job_id, 1, "redelivered", LOCK_MS, **CLAIM) is None
    store.let_go(job_id, 1)
    await _claimable_within(store, job_id, 1, 2)


async def test_claim_of_an_unknown_item_has_no_item(store: ItemStore, job_id: str) -> None:
    claim = await store.claim(job_id, 99, "task-1", LOCK_MS, **CLAIM)
    assert claim is not None
    assert claim.item is None
    assert claim.entry is None


async def test_open_circuit_is_seen_by_claims_and_keeps_the_first_reason(
    store: ItemStore, job_id: str
) -> None:
    first = {"errcode": -1, "errmsg": "FAILURE"}
    await store.open_circuit(job_id, _field("pbx-a"), first)
    await store.open_circuit(
        job_id, _field("pbx-a"), {"errcode": 70004, "errmsg": "ACCOUNT IP BLOCKED"}
    )
    claim_a = await store.claim(job_id, 1, "task-1", LOCK_MS, **CLAIM)
    claim_b = await store.claim(job_id, 4, "task-1", LOCK_MS, **CLAIM)
    assert claim_a is not None
    assert claim_b is not None
    assert claim_a.circuit == first
    assert claim_b.circuit is None


async def test_aliases_of_one_device_share_its_circuit(
    store: ItemStore, job_store: JobStore
) -> None:
    # Two aliases at one address are one device: a refusal met through one stops the other's
    # logins too (five aliases with five typos must not spend five failed logins).
    same = _entry("pbx-a").base_url
    entries = {alias: _entry(alias).model_copy(update={"base_url": same}) for alias in ("a", "b")}
    writer = job_store.create_job("test", ["trunks.csv"], entries)
    for line, alias in enumerate(("a", "b"), start=2):
        writer.add(
            NewItem(
                file="trunks.csv", line=line, pbx=alias, name=f"t{line}", type="peer",
                state=State.QUEUED, body={"name": f"t{line}", "type": "peer"},
            )
        )  # fmt: skip
    writer.finish()
    writer.done()
    await store.open_circuit(writer.job_id, _field("pbx-a"), {"errcode": -1, "errmsg": "NO"})
    claim = await store.claim(writer.job_id, 2, "task-1", LOCK_MS, **CLAIM)  # alias b
    assert claim is not None
    assert claim.item is not None
    assert claim.item.pbx == "b"
    assert claim.circuit == {"errcode": -1, "errmsg": "NO"}


async def test_a_damaged_circuit_record_counts_as_open(
    store: ItemStore, job_store: JobStore, job_id: str
) -> None:
    # Better an item failed than a create sent against a refusal nobody can read.
    job_store.client.hset(keys.job_circuit(job_id), _field("pbx-b"), "{not json")
    claim = await store.claim(job_id, 4, "task-1", LOCK_MS, **CLAIM)
    assert claim is not None
    assert claim.circuit is not None
    assert "damaged" in claim.circuit["errmsg"]


async def test_an_open_circuit_expires_with_its_job(
    store: ItemStore, job_store: JobStore, job_id: str
) -> None:
    await store.open_circuit(job_id, _field("pbx-a"), {"errcode": -1, "errmsg": "FAILURE"})
    job_ttl_ms = job_store.client.pttl(keys.job(job_id))
    circuit_ttl_ms = job_store.client.pttl(keys.job_circuit(job_id))
    # Read second, it has no more left, but for the millisecond Redis 6.2's clock may move
    # between two commands of one script.
    assert 0 < circuit_ttl_ms <= job_ttl_ms + 2


async def test_advancing_to_a_final_state_counts_once(
    store: ItemStore, job_store: JobStore, job_id: str
) -> None:
    assert _counts(job_store, job_id) == {"queued": 4, "rejected": 1}
    assert await store.move(_move(job_id, 1, State.RUNNING))
    assert _counts(job_store, job_id) == {"queued": 3, "running": 1, "rejected": 1}
    done = final_transition(job_id, 1, State.SUCCEEDED, trunk_id=17)
    assert await store.move(done)
    assert not await store.move(done)  # a redelivered task: no double count
    assert not await store.move(final_transition(job_id, 1, State.FAILED, errcode=-2))
    assert not await store.move(_move(job_id, 1, State.RUNNING))  # from final: nothing
    assert _counts(job_store, job_id) == {"queued": 3, "succeeded": 1, "rejected": 1}
    item = await store.load(job_id, 1)
    assert item is not None
    assert item.state is State.SUCCEEDED
    assert item.errcode is None
    raw: dict[bytes, bytes] = job_store.client.hgetall(keys.item(job_id, 1))  # type: ignore[assignment]
    assert raw[b"trunk_id"] == b"17"
    assert raw[b"finished_at"]


async def test_same_state_moves_write_fields_but_not_counts(
    store: ItemStore, job_store: JobStore, job_id: str
) -> None:
    assert await store.move(_move(job_id, 2, State.RUNNING))
    retry = Transition(job_id, 2, State.RUNNING, {"tries": 2}, add_attempts=1)
    assert await store.move(retry)
    assert await store.move(retry)
    item = await store.load(job_id, 2)
    assert item is not None
    assert (item.attempts, item.tries) == (2, 2)
    assert _counts(job_store, job_id) == {"queued": 3, "running": 1, "rejected": 1}


async def test_requeue_applies_only_to_failed_items(
    store: ItemStore, job_store: JobStore, job_id: str
) -> None:
    requeue = Transition(job_id, 1, State.QUEUED, {"errcode": ""}, requeue=True)
    assert not await store.move(requeue)  # queued, not failed
    assert not await store.move(Transition(job_id, 5, State.QUEUED, {}, requeue=True))  # rejected
    assert await store.move(final_transition(job_id, 1, State.FAILED, errcode=40002))
    assert await store.move(final_transition(job_id, 2, State.SUCCEEDED, trunk_id=3))
    assert not await store.move(Transition(job_id, 2, State.QUEUED, {}, requeue=True))
    assert _counts(job_store, job_id) == {
        "queued": 2,
        "failed": 1,
        "succeeded": 1,
        "rejected": 1,
    }
    assert await store.move(requeue)
    assert not await store.move(requeue)  # only once: it is queued again now
    assert _counts(job_store, job_id) == {"queued": 3, "succeeded": 1, "rejected": 1}
    item = await store.load(job_id, 1)
    assert item is not None
    assert item.state is State.QUEUED
    assert item.errcode is None


async def test_per_pbx_counts_follow_each_move(
    store: ItemStore, job_store: JobStore, job_id: str
) -> None:
    assert _status(job_store, job_id)["pbxs"] == {
        "pbx-a": {"queued": 3},
        "pbx-b": {"queued": 1, "rejected": 1},
    }
    await store.move(_move(job_id, 1, State.RUNNING))
    await store.move(final_transition(job_id, 2, State.FAILED, errcode=-1))
    await store.move(final_transition(job_id, 4, State.EXISTS, trunk_id=8))
    status = _status(job_store, job_id)
    assert status["pbxs"] == {
        "pbx-a": {"queued": 1, "running": 1, "failed": 1},
        "pbx-b": {"exists": 1, "rejected": 1},
    }
    assert not status["final"]


async def test_unknown_item_transition_changes_nothing(
    store: ItemStore, job_store: JobStore, job_id: str
) -> None:
    assert not await store.move(final_transition(job_id, 99, State.SUCCEEDED, trunk_id=1))
    assert _counts(job_store, job_id) == {"queued": 4, "rejected": 1}


async def test_concurrent_final_moves_count_once_and_the_job_ends(
    store: ItemStore, job_store: JobStore, job_id: str
) -> None:
    moves = [
        final_transition(job_id, item_no, state, trunk_id=item_no)
        for item_no in (1, 2, 3, 4)
        for state in (State.SUCCEEDED, State.EXISTS, State.FAILED) * 3
    ]
    results = await asyncio.gather(*(store.move(move) for move in moves))
    assert sum(results) == 4  # one per item
    status = _status(job_store, job_id)
    assert status["final"]
    assert sum(status["counts"].values()) == 5
    assert status["counts"]["rejected"] == 1
    per_pbx = sum(n for states in status["pbxs"].values() for n in states.values())
    assert per_pbx == 5


def _announcements(pubsub: redis.client.PubSub) -> list[bytes]:
    """What the job's channel carried so far (everything before the answer to a PING)."""
    pubsub.ping()
    heard = []
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        message = pubsub.get_message(timeout=1)  # None: a subscribe confirmation, skipped
        if message is not None and message["type"] == "pong":
            return heard
        if message is not None:
            heard.append(message["data"])
    raise AssertionError("Redis did not answer the PING")


async def test_the_item_that_ends_the_job_announces_it(
    store: ItemStore, job_store: JobStore, job_id: str
) -> None:
    pubsub = job_store.client.pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call]
    pubsub.subscribe(keys.job_final_channel(job_id))
    try:
        await store.move(final_transition(job_id, 1, State.SUCCEEDED, trunk_id=1))
        await store.move(final_transition(job_id, 2, State.FAILED, errcode=-1))
        await store.move(_move(job_id, 3, State.RUNNING))
        await store.move(final_transition(job_id, 4, State.EXISTS, trunk_id=4))
        assert _announcements(pubsub) == []  # item 3 is still open
        await store.move(final_transition(job_id, 3, State.SUCCEEDED, trunk_id=3))
        assert _announcements(pubsub) == [b"final"]
        await store.move(final_transition(job_id, 3, State.FAILED, errcode=-1))  # already final
        assert _announcements(pubsub) == []
        # A retry opens the job again; its end is announced again.
        await store.move(Transition(job_id, 2, State.QUEUED, {}, requeue=True))
        assert _announcements(pubsub) == []
        await store.move(final_transition(job_id, 2, State.SUCCEEDED, trunk_id=2))
        assert _announcements(pubsub) == [b"final"]
    finally:
        pubsub.close()


async def test_waiting_for_the_announcement_returns_when_the_job_ends(
    store: ItemStore, job_store: JobStore, job_id: str
) -> None:
    with FinalListener(job_store.client, job_id) as listener:
        for item_no in (1, 2, 3, 4):
            await store.move(final_transition(job_id, item_no, State.SUCCEEDED, trunk_id=item_no))
        started = time.monotonic()
        listener.wait(60)  # the subscribe confirmation may come first: it returns at once too
        listener.wait(60)
        assert time.monotonic() - started < 30  # at the announcement, not at the timeout
    assert _status(job_store, job_id)["final"]


async def test_without_channel_permissions_transitions_apply_and_waiting_polls(
    no_channels_url: str, job_id: str
) -> None:
    client = aioredis.Redis.from_url(no_channels_url)
    try:
        store = ItemStore(client)
        for item_no in (1, 2, 3, 4):  # the last one would announce the end: it may not
            assert await store.move(final_transition(job_id, item_no, State.SUCCEEDED))
    finally:
        await client.aclose()
    restricted = JobStore(redis.Redis.from_url(no_channels_url), TTL_S)
    with FinalListener(restricted.client, job_id) as listener:
        listener.wait(0.01)  # a pause, not an error
    assert _status(restricted, job_id)["final"]
    restricted.client.close()
