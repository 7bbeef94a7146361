"""TokenCache and PbxConnection against the simulator and a real Redis.

Two TokenCache instances stand for two worker processes; the simulator's counters say what the
PBX saw. The cache and the simulator share one ManualClock, so tokens expire without sleeping.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest
import redis.asyncio as aioredis
from aiohttp import web
from aiohttp.test_utils import TestServer

from core import keys
from pbxsim import AsyncSimulator, ManualClock, SimSettings
from tests.redis_server import free_port
from tests.sim_fixtures import peer_body, wait_until
from trunks.pbx import PbxEntry
from worker.pbx import connection as connection_module
from worker.pbx import tokens as tokens_module
from worker.pbx.client import PbxClient
from worker.pbx.connection import PbxConnection
from worker.pbx.errors import (
    CircuitOpenError,
    LoginsPausedError,
    LoginUnansweredError,
    PbxAuthError,
    PbxBadAnswerError,
    PbxTimeoutError,
    PbxTokenCapError,
    PbxTokenExpiredError,
    PbxUnreachableError,
    PbxUnusableError,
)
from worker.pbx.limiter import DeviceLimiter
from worker.pbx.login_gate import (
    TOKEN_CAP,
    UNANSWERED_BURST,
    UNANSWERED_SPACING_S,
)
from worker.pbx.token_pair import REFRESH_MARGIN_S, TokenPair
from worker.pbx.tokens import TokenCache, TokenCall

PBX = "pbx-001"
USER_AGENT = "trunkctl-tests/1.0"
ACCESS_TTL_S = 1800.0


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def sim(clock: ManualClock) -> AsyncIterator[AsyncSimulator]:
    # Some latency, so that concurrent callers really overlap the one login in flight.
    settings = SimSettings(pbx_count=1, latency_ms=20, max_inflight=4, clock=clock)
    async with AsyncSimulator(settings) as simulator:
        yield simulator


@pytest.fixture
async def short_sim(clock: ManualClock) -> AsyncIterator[AsyncSimulator]:
    """A PBX set to 60 s tokens."""
    settings = SimSettings(pbx_count=1, max_inflight=4, clock=clock, access_ttl_s=60)
    async with AsyncSimulator(settings) as simulator:
        yield simulator


def _entry(sim: AsyncSimulator, **fields: Any) -> PbxEntry:
    row = next(row for row in sim.inventory_rows() if row["pbx"] == PBX)
    values: dict[str, Any] = {
        "pbx": PBX,
        "base_url": row["base_url"],
        "client_id": row["client_id"],
        "client_secret": row["client_secret"],
        "max_inflight": 4,
        **fields,
    }
    return PbxEntry(**values)


def _token_call(session: aiohttp.ClientSession, entry: PbxEntry) -> TokenCall:
    client = PbxClient(session, entry, USER_AGENT)

    async def call(endpoint: str, body: dict[str, Any]) -> dict[str, Any]:
        return await client.call("POST", endpoint, body=body)

    return call


def _requests(sim: AsyncSimulator, endpoint: str) -> int:
    count: int = sim.counters(PBX)["requests"].get(endpoint, 0)
    return count


async def _list_trunks(session: aiohttp.ClientSession, entry: PbxEntry, token: str) -> None:
    await PbxClient(session, entry, USER_AGENT).call("GET", "trunk/list", token=token)


async def test_concurrent_callers_in_two_processes_make_one_login(
    sim: AsyncSimulator,
    redis_client: aioredis.Redis,
    session: aiohttp.ClientSession,
    clock: ManualClock,
) -> None:
    entry = _entry(sim)
    call = _token_call(session, entry)
    caches = [TokenCache(redis_client, clock), TokenCache(redis_client, clock)]
    tokens = await asyncio.gather(*(caches[n % 2].token(entry, call) for n in range(20)))
    assert len(set(tokens)) == 1
    counters = sim.counters(PBX)
    assert counters["requests"]["get_token"] == 1
    assert counters["tokens_issued"] == 1
    assert counters["token_cap_hits"] == 0
    # Storing the token dropped the fetch lock.
    assert not await redis_client.exists(keys.token_lock(entry.base_url, entry.client_id))
    await _list_trunks(session, entry, tokens[0])  # and the PBX takes it
    # A third process starting later finds the token in Redis.
    assert await TokenCache(redis_client, clock).token(entry, call) == tokens[0]
    assert _requests(sim, "get_token") == 1


async def test_token_is_refreshed_with_the_refresh_token_before_expiry(
    sim: AsyncSimulator,
    redis_client: aioredis.Redis,
    session: aiohttp.ClientSession,
    clock: ManualClock,
) -> None:
    entry = _entry(sim)
    call = _token_call(session, entry)
    cache = TokenCache(redis_client, clock)
    first = await cache.token(entry, call)
    clock.advance(ACCESS_TTL_S - REFRESH_MARGIN_S - 1)
    assert await cache.token(entry, call) == first  # still outside the margin
    clock.advance(2)
    second = await cache.token(entry, call)
    assert second != first
    assert _requests(sim, "get_token") == 1
    assert _requests(sim, "refresh_token") == 1
    await _list_trunks(session, entry, second)
    # Another process sees the refreshed token, not the old one.
    assert await TokenCache(redis_client, clock).token(entry, call) == second


async def test_short_lived_tokens_are_used_for_most_of_their_life(
    short_sim: AsyncSimulator,
    redis_client: aioredis.Redis,
    session: aiohttp.ClientSession,
    clock: ManualClock,
) -> None:
    # With 60 s tokens, the fixed margin (120 s) would refresh before every request.
    entry = _entry(short_sim)
    call = _token_call(session, entry)
    cache = TokenCache(redis_client, clock)
    first = await cache.token(entry, call)
    for _ in range(5):
        assert await cache.token(entry, call) == first
    clock.advance(44)  # a quarter of the lifetime (15 s) is left: still used
    assert await TokenCache(redis_client, clock).token(entry, call) == first
    clock.advance(2)
    second = await cache.token(entry, call)
    assert second != first
    assert _requests(short_sim, "get_token") == 1
    assert _requests(short_sim, "refresh_token") == 1
    await _list_trunks(session, entry, second)


async def test_a_refresh_that_waited_for_its_slot_is_timed_from_its_answer(
    short_sim: AsyncSimulator,
    redis_client: aioredis.Redis,
    session: aiohttp.ClientSession,
    clock: ManualClock,
) -> None:
    # With 60 s tokens, a refresh queued 50 s behind other requests must not come back "due".
    entry = _entry(short_sim)
    call = _token_call(session, entry)

    async def queued_call(endpoint: str, body: dict[str, Any]) -> dict[str, Any]:
        clock.advance(50)  # the wait for the PBX's slot
        return await call(endpoint, body)

    cache = TokenCache(redis_client, clock)
    first = await cache.token(entry, call)
    clock.advance(46)
    second = await cache.token(entry, queued_call)
    assert second != first
    assert await cache.token(entry, call) == second
    assert _requests(short_sim, "refresh_token") == 1


def test_a_pair_without_a_refresh_lifetime_is_kept_while_its_access_token_lives(
    clock: ManualClock,
) -> None:
    answer = {"access_token": "a", "access_token_expire_time": 1800, "refresh_token": "r"}
    pair = TokenPair.from_answer(answer, clock())
    assert pair.keep_ms(clock()) == 1_800_000
    assert not pair.refreshable(clock())


async def test_expired_refresh_token_falls_back_to_a_login(
    sim: AsyncSimulator,
    redis_client: aioredis.Redis,
    session: aiohttp.ClientSession,
    clock: ManualClock,
) -> None:
    entry = _entry(sim)
    call = _token_call(session, entry)
    cache = TokenCache(redis_client, clock)
    first = await cache.token(entry, call)
    clock.advance(86400 + 1)
    second = await cache.token(entry, call)
    assert second != first
    assert _requests(sim, "get_token") == 2
    await _list_trunks(session, entry, second)


async def test_a_dead_refresh_token_is_tried_once_then_forgotten(
    sim: AsyncSimulator,
    redis_client: aioredis.Redis,
    session: aiohttp.ClientSession,
    clock: ManualClock,
) -> None:
    entry = _entry(sim)
    call = _token_call(session, entry)
    await TokenCache(redis_client, clock).token(entry, call)
    sim.reset(PBX)  # the PBX forgets its tokens (a factory reset, say)...
    sim.set_secret(PBX, "changed-by-the-admin")  # ...and gets a new secret
    clock.advance(ACCESS_TTL_S)
    caches = [TokenCache(redis_client, clock), TokenCache(redis_client, clock)]
    results = await asyncio.gather(
        *(caches[n % 2].token(entry, call, "job-a") for n in range(6)), return_exceptions=True
    )
    assert all(isinstance(result, PbxUnusableError) for result in results)
    assert sum(isinstance(result, PbxAuthError) for result in results) >= 1
    # One refresh (refused), one login (refused): the other five ask the PBX nothing.
    assert _requests(sim, "refresh_token") == 1
    assert sim.counters(PBX)["logins_failed"] == 1
    assert not await redis_client.exists(keys.token(entry.base_url, entry.client_id))


async def test_a_refresh_refused_for_the_client_ends_tries_for_its_job(
    sim: AsyncSimulator,
    redis_client: aioredis.Redis,
    session: aiohttp.ClientSession,
    clock: ManualClock,
) -> None:
    # 10009 (or -1, 70004, 70087, 10005) on refresh_token: the client or the caller is refused.
    # The job's tasks that wait for the token must not refresh (or log in) again, each in turn.
    entry = _entry(sim)
    call = _token_call(session, entry)
    await TokenCache(redis_client, clock).token(entry, call, "job-a")
    sim.set_faults([{"endpoint": "refresh_token", "kind": "access_denied"}])
    clock.advance(ACCESS_TTL_S)
    caches = [TokenCache(redis_client, clock), TokenCache(redis_client, clock)]
    results = await asyncio.gather(
        *(caches[n % 2].token(entry, call, "job-a") for n in range(6)), return_exceptions=True
    )
    # The first waiter meets the PBX's refusal, the others the job's circuit it opened.
    assert all(isinstance(result, PbxUnusableError) for result in results)
    codes = {result.errcode for result in results if isinstance(result, PbxUnusableError)}
    assert len(codes) == 1  # the PBX's own refusal, for every waiting task
    assert _requests(sim, "refresh_token") == 1
    assert _requests(sim, "get_token") == 1  # the first login only
    assert not await redis_client.exists(keys.token(entry.base_url, entry.client_id))


async def test_invalidate_current_token_then_token_refreshes_once(
    sim: AsyncSimulator,
    redis_client: aioredis.Redis,
    session: aiohttp.ClientSession,
    clock: ManualClock,
) -> None:
    entry = _entry(sim)
    call = _token_call(session, entry)
    caches = [TokenCache(redis_client, clock), TokenCache(redis_client, clock)]
    first = await caches[0].token(entry, call)
    assert await caches[1].token(entry, call) == first
    # Both processes meet 10004 with the same token; each invalidates it and asks again.
    await asyncio.gather(*(cache.invalidate(entry, first) for cache in caches))
    renewed = await asyncio.gather(*(caches[n % 2].token(entry, call) for n in range(10)))
    assert len(set(renewed)) == 1
    assert renewed[0] != first
    assert _requests(sim, "refresh_token") == 1
    assert _requests(sim, "get_token") == 1
    # A late invalidate of the old token must not throw the new one away.
    await caches[0].invalidate(entry, first)
    assert await caches[0].token(entry, call) == renewed[0]
    assert _requests(sim, "refresh_token") == 1


async def test_after_a_refused_login_no_secret_is_tried_again_in_that_job(
    sim: AsyncSimulator,
    redis_client: aioredis.Redis,
    session: aiohttp.ClientSession,
    clock: ManualClock,
) -> None:
    good = _entry(sim)
    bad = _entry(sim, client_secret="wrong-secret-123")
    caches = [TokenCache(redis_client, clock), TokenCache(redis_client, clock)]
    with pytest.raises(PbxAuthError) as first:
        await caches[0].token(bad, _token_call(session, bad), "job-a")
    assert first.value.errcode == -1
    assert sim.counters(PBX)["logins_failed"] == 1
    assert not await redis_client.exists(keys.token_lock(bad.base_url, bad.client_id))
    # Again, in this process and in another one, concurrently: the PBX is not asked again.
    results = await asyncio.gather(
        *(caches[n % 2].token(bad, _token_call(session, bad), "job-a") for n in range(6)),
        return_exceptions=True,
    )
    assert all(isinstance(result, PbxUnusableError) for result in results)
    assert all(result.errcode == -1 for result in results if isinstance(result, PbxUnusableError))
    assert sim.counters(PBX)["logins_failed"] == 1
    assert _requests(sim, "get_token") == 1
    assert "wrong-secret-123" not in str(first.value)
    # The job's circuit for the device is open, with the reason, never the secret.
    refused = await redis_client.hgetall(keys.job_circuit("job-a"))
    assert list(refused) == [keys.circuit_field(bad.base_url).encode()]
    assert "wrong-secret-123" not in repr(refused)
    # Nor another secret for the same PBX client (a second alias of it, say): five aliases with
    # five typos would get the IP blocked within one job.
    with pytest.raises(PbxUnusableError):
        await caches[1].token(good, _token_call(session, good), "job-a")
    assert _requests(sim, "get_token") == 1
    # Another job (or this one after `retry`, which clears its refusal) logs in again.
    token = await caches[1].token(good, _token_call(session, good), "another-job")
    assert token
    assert sim.counters(PBX)["logins_ok"] == 1


async def test_a_refused_secret_is_not_sent_again_by_another_job(
    sim: AsyncSimulator,
    redis_client: aioredis.Redis,
    session: aiohttp.ClientSession,
    clock: ManualClock,
) -> None:
    # product.md: the login budget spans jobs. Another job with the same secret fails at once,
    # with the first job's refusal; another job with another secret may spend one login.
    bad = _entry(sim, client_secret="wrong-secret-123")
    cache = TokenCache(redis_client, clock)
    for job_id in ("job-a", "job-a", "job-b", "job-b", "job-a"):
        with pytest.raises(PbxUnusableError) as refused:  # job-a's later ones: its circuit
            await cache.token(bad, _token_call(session, bad), job_id)
        assert "by job job-a" in str(refused.value.errmsg)
    assert sim.counters(PBX)["logins_failed"] == 1
    # The refusing job's circuit is open for the device; job-b was stopped by the memory of
    # the secret (its own circuit opens when its delivery records the refusal).
    field = keys.circuit_field(bad.base_url).encode()
    assert list(await redis_client.hgetall(keys.job_circuit("job-a"))) == [field]
    assert await redis_client.pttl(keys.job_circuit("job-a")) > 0
    assert not await redis_client.exists(keys.job_circuit("job-b"))
    fixed = _entry(sim)
    assert await cache.token(fixed, _token_call(session, fixed), "job-b")
    assert sim.counters(PBX)["logins_ok"] == 1


# --- PbxConnection ------------------------------------------------------------------------------


@pytest.fixture
def connection(
    sim: AsyncSimulator,
    session: aiohttp.ClientSession,
    redis_client: aioredis.Redis,
    clock: ManualClock,
) -> PbxConnection:
    entry = _entry(sim)
    return PbxConnection(
        entry,
        PbxClient(session, entry, USER_AGENT),
        DeviceLimiter(redis_client, max_waiting=100),
        TokenCache(redis_client, clock),
        slot_wait_s=5,
    )


async def test_api_replays_once_after_token_expired(
    sim: AsyncSimulator, connection: PbxConnection
) -> None:
    sim.set_faults([{"endpoint": "trunk/list", "kind": "token_expired", "nth": 1}])
    answer = await connection.api("GET", "trunk/list")
    assert answer["errcode"] == 0
    assert _requests(sim, "trunk/list") == 2
    assert _requests(sim, "refresh_token") == 1
    assert _requests(sim, "get_token") == 1


async def test_api_gives_up_after_one_replay(
    sim: AsyncSimulator, connection: PbxConnection
) -> None:
    sim.set_faults([{"endpoint": "trunk/list", "kind": "token_expired"}])
    with pytest.raises(PbxTokenExpiredError):
        await connection.api("GET", "trunk/list")
    assert _requests(sim, "trunk/list") == 2
    assert _requests(sim, "refresh_token") == 1


@pytest.fixture
async def one_slot(
    sim: AsyncSimulator,
    session: aiohttp.ClientSession,
    redis_client: aioredis.Redis,
    clock: ManualClock,
) -> tuple[PbxEntry, DeviceLimiter, PbxConnection]:
    """A connection to a PBX of max_inflight 1, logged in; its limiter, to hold the slot."""
    entry = _entry(sim, max_inflight=1)
    limiter = DeviceLimiter(redis_client, max_waiting=100)
    connection = PbxConnection(
        entry, PbxClient(session, entry, USER_AGENT), limiter, TokenCache(redis_client, clock), 5
    )
    await connection.api("GET", "trunk/list")  # logs in
    return entry, limiter, connection


async def test_a_token_that_expired_during_the_wait_for_a_slot_is_renewed_before_sending(
    sim: AsyncSimulator,
    clock: ManualClock,
    one_slot: tuple[PbxEntry, DeviceLimiter, PbxConnection],
) -> None:
    entry, limiter, connection = one_slot
    async with limiter.slot(entry, wait_s=5):  # another request holds the PBX's one slot
        waiting = asyncio.create_task(connection.api("GET", "trunk/list"))
        await wait_until(lambda: limiter.waiting(entry.base_url) == 1)
        clock.advance(ACCESS_TTL_S)  # the token expires meanwhile
    assert (await waiting)["errcode"] == 0
    # Refreshed first, then sent once: no request carried the dead token (no 10004 and replay).
    assert _requests(sim, "refresh_token") == 1
    assert _requests(sim, "trunk/list") == 2


async def test_a_refresh_goes_ahead_of_the_requests_waiting_for_the_pbx(
    sim: AsyncSimulator,
    clock: ManualClock,
    one_slot: tuple[PbxEntry, DeviceLimiter, PbxConnection],
) -> None:
    entry, limiter, connection = one_slot
    async with limiter.slot(entry, wait_s=5):  # another request holds the PBX's one slot
        queued = [asyncio.create_task(connection.api("GET", "trunk/list")) for _ in range(3)]
        await wait_until(lambda: limiter.waiting(entry.base_url) == 3)
        clock.advance(ACCESS_TTL_S - REFRESH_MARGIN_S + 1)  # due for renewal, still alive
        late = asyncio.create_task(connection.api("GET", "trunk/list"))
        await wait_until(lambda: limiter.waiting(entry.base_url) == 4)  # its refresh waits too
    await asyncio.wait(queued, return_when=asyncio.FIRST_COMPLETED)
    # The refresh went first: queued behind them, a token of a few seconds would die waiting.
    assert _requests(sim, "refresh_token") == 1
    await asyncio.gather(*queued, late)
    assert _requests(sim, "refresh_token") == 1
    assert sim.counters(PBX)["tokens_refused"] == 0


@pytest.mark.parametrize("lifetime_s", [4, 5, 8, 10, 30, 60, 600, 1800, 7200])
def test_a_token_is_due_for_renewal_while_it_may_still_be_sent(
    clock: ManualClock, lifetime_s: float
) -> None:
    # Otherwise a short-lived token is neither renewed (still "usable") nor sent ("dead").
    answer = {"access_token": "a", "access_token_expire_time": lifetime_s, "refresh_token": "r"}
    pair = TokenPair.from_answer(answer, clock())
    assert pair.usable(clock())
    for tenth in range(int(lifetime_s * 10)):
        now = clock() + tenth / 10
        assert not pair.usable(now) or pair.alive(now), (
            f"usable but not sendable at +{tenth / 10} s"
        )
    assert pair.refresh_at - clock() >= lifetime_s / 2  # yet used for at least half of its life


async def test_a_token_refused_again_on_the_replay_is_not_sent_again(
    sim: AsyncSimulator, connection: PbxConnection
) -> None:
    sim.set_faults(
        [
            {"endpoint": "trunk/list", "kind": "token_expired", "nth": 1},
            {"endpoint": "trunk/list", "kind": "token_expired", "nth": 2},
        ]
    )
    with pytest.raises(PbxTokenExpiredError):
        await connection.api("GET", "trunk/list")
    assert _requests(sim, "refresh_token") == 1
    assert (await connection.api("GET", "trunk/list"))["errcode"] == 0
    assert _requests(sim, "refresh_token") == 2  # renewed, not the refused token once more
    assert _requests(sim, "trunk/list") == 3


async def test_before_send_runs_before_each_request(
    sim: AsyncSimulator, connection: PbxConnection
) -> None:
    sim.set_faults([{"endpoint": "trunk/create", "kind": "token_expired", "nth": 1}])
    sends: list[int] = []

    async def before_send() -> None:
        sends.append(_requests(sim, "trunk/create"))

    trunk_id = await connection.create_trunk(peer_body("office"), before_send)
    assert sends == [0, 1]  # once per request, each time before it went out
    assert [trunk["id"] for trunk in sim.trunks(PBX)] == [trunk_id]


@pytest.mark.parametrize("page_size", [3, 100])
async def test_find_trunk_pages_through_fuzzy_matches(
    sim: AsyncSimulator,
    connection: PbxConnection,
    monkeypatch: pytest.MonkeyPatch,
    page_size: int,
) -> None:
    monkeypatch.setattr(connection_module, "SEARCH_PAGE_SIZE", page_size)
    names = [
        "office2", "my-office", "office-old", "Office_x", "officeA", "back-office", "office3",
        "office",
    ]  # fmt: skip
    ids = sim.preload_trunks(PBX, [peer_body(name) for name in names])
    sim.preload_trunks(PBX, [peer_body("warehouse")])
    assert await connection.find_trunk("office") == ids[-1]  # the exact match, on the last page
    assert await connection.find_trunk("my-office") == ids[1]
    before = _requests(sim, "trunk/search")
    assert await connection.find_trunk("offic") is None  # fuzzy matches only
    pages = -(-len(names) // page_size)
    assert _requests(sim, "trunk/search") - before == pages
    assert await connection.find_trunk("nothing-like-it") is None


async def test_a_token_cap_pauses_every_login_instead_of_hammering(
    clock: ManualClock, redis_client: aioredis.Redis, session: aiohttp.ClientSession
) -> None:
    settings = SimSettings(pbx_count=1, max_tokens=1, clock=clock)
    async with AsyncSimulator(settings) as capped:
        entry = _entry(capped)
        call = _token_call(session, entry)
        credentials = {
            "username": entry.client_id,
            "password": entry.client_secret.get_secret_value(),
        }
        await call("get_token", credentials)  # another tool holds the only token
        caches = [TokenCache(redis_client, clock=clock), TokenCache(redis_client, clock=clock)]
        for cache in caches * 3:
            with pytest.raises(PbxTokenCapError):
                await cache.token(entry, call)
        assert capped.counters(PBX)["token_cap_hits"] == 1
        await redis_client.delete(keys.token_capped(entry.base_url, entry.client_id))
        with pytest.raises(PbxTokenCapError):
            await caches[0].token(entry, call)  # the pause is over: one more try
        assert capped.counters(PBX)["token_cap_hits"] == 2


async def _get_token(_request: web.Request) -> web.Response:
    return web.json_response(
        {"errcode": 0, "access_token": "a", "access_token_expire_time": 1800,
         "refresh_token": "r", "refresh_token_expire_time": 86400}
    )  # fmt: skip


@contextlib.asynccontextmanager
async def _answering_pbx(
    session: aiohttp.ClientSession,
    redis_client: aioredis.Redis,
    clock: ManualClock,
    routes: dict[tuple[str, str], Callable[[web.Request], Awaitable[web.Response]]],
    **entry_fields: Any,
) -> AsyncIterator[PbxConnection]:
    """A connection to a PBX of the test's own making: `routes` maps (method, endpoint) to its
    handler; get_token always succeeds. `entry_fields` go to its inventory entry."""
    app = web.Application()
    app.router.add_post("/openapi/v1.0/get_token", _get_token)
    for (method, endpoint), handler in routes.items():
        app.router.add_route(method, f"/openapi/v1.0/{endpoint}", handler)
    server = TestServer(app)
    await server.start_server()
    try:
        entry = PbxEntry(
            pbx=PBX, base_url=str(server.make_url("")).rstrip("/"), client_id="c",
            client_secret="s", **entry_fields,
        )  # fmt: skip
        yield PbxConnection(
            entry, PbxClient(session, entry, USER_AGENT),
            DeviceLimiter(redis_client, max_waiting=10), TokenCache(redis_client, clock), 5,
        )  # fmt: skip
    finally:
        await server.close()


async def _nothing() -> None:
    return None


async def test_a_create_answered_without_an_id_is_found_by_name(
    session: aiohttp.ClientSession, redis_client: aioredis.Redis, clock: ManualClock
) -> None:
    # A PBX (or proxy) that says SUCCESS but leaves out the id: the trunk is there, so ask.
    async def create(_request: web.Request) -> web.Response:
        return web.json_response({"errcode": 0, "errmsg": "SUCCESS"})

    async def search(_request: web.Request) -> web.Response:
        rows = [{"id": 7, "name": "office2"}, {"id": 8, "name": "office"}]
        return web.json_response({"errcode": 0, "total_number": 2, "data": rows})

    routes = {("POST", "trunk/create"): create, ("GET", "trunk/search"): search}
    async with _answering_pbx(session, redis_client, clock, routes) as connection:
        assert await connection.create_trunk(peer_body("office"), _nothing) == 8


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ({"data": [{"id": "x7", "name": "office"}], "total_number": 1}, "the trunk's id"),
        ({"data": [{"name": "office"}], "total_number": 1}, "the trunk's id"),
        ({"data": [{"id": 1, "name": "other"}], "total_number": "many"}, "total_number"),
        ({"data": {"id": 1, "name": "office"}, "total_number": 1}, "not a list"),
    ],
)
async def test_a_search_answer_that_makes_no_sense_is_a_bad_answer(
    session: aiohttp.ClientSession,
    redis_client: aioredis.Redis,
    clock: ManualClock,
    answer: dict[str, Any],
    message: str,
) -> None:
    # errcode 0 but unusable: one of the project's errors (the item fails with the reason), not
    # a KeyError or ValueError that the task would retry as "unexpected" twenty times.
    async def search(_request: web.Request) -> web.Response:
        return web.json_response({"errcode": 0, "errmsg": "SUCCESS", **answer})

    routes = {("GET", "trunk/search"): search}
    async with _answering_pbx(session, redis_client, clock, routes) as connection:
        with pytest.raises(PbxBadAnswerError, match=message):
            await connection.find_trunk("office")


async def test_a_request_that_timed_out_keeps_its_slot_while_the_pbx_may_work_on_it(
    session: aiohttp.ClientSession, redis_client: aioredis.Redis, clock: ManualClock
) -> None:
    # max_inflight 1 counts what the PBX works on: a request the client gave up on may still be
    # running there, so the next one must not join it at once.
    running: list[int] = [0, 0]  # now, most at once
    work: set[asyncio.Task[web.Response]] = set()

    async def process() -> web.Response:
        running[0] += 1
        running[1] = max(running)
        try:
            await asyncio.sleep(0.3)
            return web.json_response({"errcode": 0, "errmsg": "SUCCESS"})
        finally:
            running[0] -= 1

    async def slow(_request: web.Request) -> web.Response:
        # As a PBX does, it finishes the work even when the client has gone.
        task = asyncio.create_task(process())
        work.add(task)
        return await asyncio.shield(task)

    routes = {("GET", "trunk/list"): slow}
    async with _answering_pbx(session, redis_client, clock, routes, timeout_s=0.2) as connection:
        calls = [connection.api("GET", "trunk/list") for _ in range(2)]
        results = await asyncio.gather(*calls, return_exceptions=True)
        await asyncio.gather(*work)
    assert [type(result) for result in results] == [PbxTimeoutError, PbxTimeoutError]
    assert running[1] == 1


async def test_a_token_answer_without_a_token_is_a_bad_answer_and_frees_the_lock(
    sim: AsyncSimulator, redis_client: aioredis.Redis, clock: ManualClock
) -> None:
    entry = _entry(sim)

    async def answers_without_token(_endpoint: str, _body: dict[str, Any]) -> dict[str, Any]:
        return {"errcode": 0, "errmsg": "SUCCESS", "refresh_token": "r"}

    with pytest.raises(PbxBadAnswerError, match="no access token"):
        await TokenCache(redis_client, clock).token(entry, answers_without_token)
    assert not await redis_client.exists(keys.token_lock(entry.base_url, entry.client_id))


async def test_the_fetch_lock_lives_as_long_as_the_fetch_and_no_longer(
    sim: AsyncSimulator,
    redis_client: aioredis.Redis,
    clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A short lock, renewed while its fetch lasts: a worker killed while fetching holds up the
    # PBX's other requests for LOCK_TTL_MS at most, however slow its fetch.
    monkeypatch.setattr(tokens_module, "LOCK_TTL_MS", 150)
    entry = _entry(sim)
    lock_key = keys.token_lock(entry.base_url, entry.client_id)
    held_late: list[int] = []

    async def slow_login(_endpoint: str, _body: dict[str, Any]) -> dict[str, Any]:
        await asyncio.sleep(0.6)  # four lifetimes of the lock
        held_late.append(await redis_client.exists(lock_key))
        return {"errcode": 0, "access_token": "a", "access_token_expire_time": 1800}

    assert await TokenCache(redis_client, clock).token(entry, slow_login) == "a"
    assert held_late == [1]
    assert not await redis_client.exists(lock_key)


async def test_logins_that_got_no_answer_are_spaced_out_and_stop_at_the_token_cap(
    sim: AsyncSimulator,
    redis_client: aioredis.Redis,
    session: aiohttp.ClientSession,
    clock: ManualClock,
) -> None:
    # A PBX that answers nothing: every login times out, yet may issue a token (8 at most).
    # Probed, not hammered: three at once, then one per UNANSWERED_SPACING_S, until 8 may be out.
    entry = _entry(sim)
    sent: list[str] = []

    async def times_out(endpoint: str, _body: dict[str, Any]) -> dict[str, Any]:
        sent.append(endpoint)
        raise PbxTimeoutError(f"{endpoint}: timed out after 30 s")

    cache = TokenCache(redis_client, clock)
    for _ in range(UNANSWERED_BURST):
        with pytest.raises(LoginUnansweredError):
            await cache.token(entry, times_out)
    while len(sent) < TOKEN_CAP:
        with pytest.raises(LoginsPausedError, match="probed once every 120 s") as paused:
            await cache.token(entry, times_out)
        assert paused.value.resumes_at == clock() + UNANSWERED_SPACING_S
        clock.advance(UNANSWERED_SPACING_S)
        with pytest.raises(LoginUnansweredError):
            await cache.token(entry, times_out)
    with pytest.raises(LoginsPausedError, match="may have left a token") as capped:
        await cache.token(entry, times_out)
    assert len(sent) == TOKEN_CAP
    clock.advance(capped.value.resumes_at - clock())  # the first of those tokens has expired
    assert await cache.token(entry, _token_call(session, entry)) != ""


async def test_a_login_that_found_no_pbx_listening_is_not_an_unanswered_one(
    sim: AsyncSimulator,
    redis_client: aioredis.Redis,
    session: aiohttp.ClientSession,
    clock: ManualClock,
) -> None:
    # A PBX that is down (connection refused) got no login, so it issued no token: however many
    # times it is found down, logins go on once it is back.
    entry = _entry(sim)
    down = _entry(sim, base_url=f"http://127.0.0.1:{free_port()}")
    cache = TokenCache(redis_client, clock)
    for _ in range(UNANSWERED_BURST + 1):
        with pytest.raises(PbxUnreachableError):
            await cache.token(entry, _token_call(session, down))
    assert not await redis_client.exists(keys.token_unanswered(entry.base_url, entry.client_id))
    assert await cache.token(entry, _token_call(session, entry)) != ""


async def test_invalidate_leaves_an_expired_or_replaced_pair_alone(
    sim: AsyncSimulator,
    redis_client: aioredis.Redis,
    session: aiohttp.ClientSession,
    clock: ManualClock,
) -> None:
    entry = _entry(sim)
    key = keys.token(entry.base_url, entry.client_id)
    cache = TokenCache(redis_client, clock)
    first = await cache.token(entry, _token_call(session, entry))
    await redis_client.delete(key)  # the pair expired before the 10004 came back
    await cache.invalidate(entry, first)
    assert not await redis_client.exists(key)  # not a hash of 'refresh_at' alone, kept forever
    # A damaged hash counts as no pair: the next fetch logs in and replaces it.
    await redis_client.hset(key, "refresh_at", "0")
    second = await TokenCache(redis_client, clock).token(entry, _token_call(session, entry))
    assert second != first
    assert await redis_client.hget(key, "access_token") == second.encode()


async def test_a_token_call_stopped_by_an_open_circuit_forgets_and_records_nothing(
    sim: AsyncSimulator,
    redis_client: aioredis.Redis,
    session: aiohttp.ClientSession,
    clock: ManualClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A cancelled job's task needs a refresh: the slot it asks for refuses it (the job's circuit
    # is open). Nothing was learnt of the PBX: the shared pair stays for every other job.
    entry = _entry(sim)
    call = _token_call(session, entry)
    await TokenCache(redis_client, clock).token(entry, call, "job-a")
    clock.advance(ACCESS_TTL_S - REFRESH_MARGIN_S + 1)  # due for a refresh
    reason = {"errcode": None, "errmsg": "cancelled by 'trunkctl cancel'", "cancelled": True}

    async def stopped(endpoint: str, body: dict[str, Any]) -> dict[str, Any]:
        raise CircuitOpenError.from_reason(reason)

    with pytest.raises(CircuitOpenError) as info:
        await TokenCache(redis_client, clock).token(entry, stopped, "job-cancelled")
    assert info.value.cancelled
    assert await redis_client.exists(keys.token(entry.base_url, entry.client_id))
    assert not await redis_client.exists(keys.job_circuit("job-cancelled"))
    assert not [record for record in caplog.records if record.levelno >= logging.WARNING]
    await TokenCache(redis_client, clock).token(entry, call, "job-b")
    assert (_requests(sim, "get_token"), _requests(sim, "refresh_token")) == (1, 1)
