"""The login budget across jobs and processes: TokenCache against the simulator and real Redis.

Two TokenCache instances stand for two worker processes; the simulator's counters say what the
PBX saw. A ManualClock shared by both moves the budget's windows without sleeping.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import redis.asyncio as aioredis

from core import keys
from pbxsim import AsyncSimulator, ManualClock, SimSettings
from trunks.pbx import PbxEntry
from worker.pbx.client import PbxClient
from worker.pbx.connection import PbxConnection
from worker.pbx.errors import (
    LoginRefusedError,
    LoginsPausedError,
    LoginUnansweredError,
    PbxAuthError,
    PbxTimeoutError,
)
from worker.pbx.limiter import DeviceLimiter
from worker.pbx.tokens import TokenCache, TokenCall

PBX = "pbx-001"
USER_AGENT = "trunkctl-tests/1.0"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(1_700_000_000.0)


@pytest.fixture
async def sim(clock: ManualClock) -> AsyncIterator[AsyncSimulator]:
    async with AsyncSimulator(SimSettings(pbx_count=1, max_inflight=4, clock=clock)) as simulator:
        yield simulator


def _entry(sim: AsyncSimulator, **fields: Any) -> PbxEntry:
    row = next(row for row in sim.inventory_rows() if row["pbx"] == PBX)
    values = {key: row[key] for key in ("pbx", "base_url", "client_id", "client_secret")}
    return PbxEntry(**{**values, "max_inflight": 4, **fields})


def _call(session: aiohttp.ClientSession, entry: PbxEntry) -> TokenCall:
    client = PbxClient(session, entry, USER_AGENT)

    async def call(endpoint: str, body: dict[str, Any]) -> dict[str, Any]:
        return await client.call("POST", endpoint, body=body)

    return call


def _logins(sim: AsyncSimulator) -> int:
    count: int = sim.counters(PBX)["requests"].get("get_token", 0)
    return count


async def test_a_refused_secret_is_remembered_by_a_keyed_fingerprint_and_logged_once(
    sim: AsyncSimulator,
    redis_client: aioredis.Redis,
    session: aiohttp.ClientSession,
    clock: ManualClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    secret = "wrong-secret-123"
    bad = _entry(sim, client_secret=secret)
    caches = [TokenCache(redis_client, clock), TokenCache(redis_client, clock)]
    results = await asyncio.gather(
        *(caches[n % 2].token(bad, _call(session, bad), f"job-{n}") for n in range(8)),
        return_exceptions=True,
    )
    assert all(isinstance(result, LoginRefusedError) for result in results)
    assert sim.counters(PBX)["logins_failed"] == 1
    assert _logins(sim) == 1
    reasons = {result.errmsg for result in results if isinstance(result, PbxAuthError)}
    assert len(reasons) == 1  # every job fails with the one refusal: when, and by which job
    [reason] = reasons
    assert reason.startswith(f"login refused by the PBX for client id {bad.client_id!r}")
    warnings = [record for record in caplog.records if record.levelno == logging.WARNING]
    assert [record.getMessage() for record in warnings] == [f"PBX {bad.base_url}: {reason}"]
    # Stored under a keyed fingerprint: neither the secret nor a plain hash of it.
    stored = await redis_client.hgetall(keys.token_refused_secrets(bad.base_url, bad.client_id))
    [(fingerprint, record)] = stored.items()
    text = repr(stored)
    assert secret not in text
    assert hashlib.sha256(secret.encode()).hexdigest()[:32] not in text
    assert fingerprint.decode() not in hashlib.sha256(secret.encode()).hexdigest()
    assert b'"job_id": "job-' in record
    # A day later it may be tried again (once).
    clock.advance(24 * 3600)
    with pytest.raises(LoginRefusedError):
        await caches[0].token(bad, _call(session, bad), "job-late")
    assert sim.counters(PBX)["logins_failed"] == 2


async def test_failed_logins_stay_at_two_per_device_whatever_the_secrets(
    sim: AsyncSimulator,
    redis_client: aioredis.Redis,
    session: aiohttp.ClientSession,
    clock: ManualClock,
) -> None:
    # Five jobs, each with its own typo, from two processes at once: two failed logins at most,
    # then nothing is sent until the first leaves the 30-minute window, not even the right one.
    caches = [TokenCache(redis_client, clock), TokenCache(redis_client, clock)]
    typos = [_entry(sim, client_secret=f"typo-{n}-secret") for n in range(5)]
    results = await asyncio.gather(
        *(
            caches[n % 2].token(entry, _call(session, entry), f"job-{n}")
            for n, entry in enumerate(typos)
        ),
        return_exceptions=True,
    )
    assert sim.counters(PBX)["logins_failed"] == 2
    paused = [result for result in results if isinstance(result, LoginsPausedError)]
    assert len(paused) == 3
    assert all(isinstance(result, PbxAuthError | LoginsPausedError) for result in results)
    right = _entry(sim)
    with pytest.raises(LoginsPausedError, match="2 logins to it failed") as waiting:
        await caches[0].token(right, _call(session, right), "job-right")
    assert _logins(sim) == 2
    clock.advance(waiting.value.resumes_at - clock())
    assert await caches[1].token(right, _call(session, right), "job-right")
    assert sim.counters(PBX)["logins_ok"] == 1
    # The failures have left the window, and the login that succeeded gave its place back.
    assert not await redis_client.zrange(keys.device_failed_logins(right.base_url), 0, -1)


async def test_logins_that_got_no_answer_spend_nothing_of_the_failed_login_budget(
    sim: AsyncSimulator, redis_client: aioredis.Redis, clock: ManualClock
) -> None:
    entry = _entry(sim)

    async def times_out(endpoint: str, _body: dict[str, Any]) -> dict[str, Any]:
        raise PbxTimeoutError(f"{endpoint}: timed out after 1 s")

    for _ in range(3):
        with pytest.raises(LoginUnansweredError):
            await TokenCache(redis_client, clock).token(entry, times_out, "job-1")
    assert not await redis_client.exists(keys.device_failed_logins(entry.base_url))


async def test_a_device_that_blocked_this_ip_is_not_asked_again_by_any_job(
    sim: AsyncSimulator,
    redis_client: aioredis.Redis,
    session: aiohttp.ClientSession,
    clock: ManualClock,
) -> None:
    entry = _entry(sim)
    cache = TokenCache(redis_client, clock)
    connection = PbxConnection(
        entry, PbxClient(session, entry, USER_AGENT), DeviceLimiter(redis_client, max_waiting=10),
        cache, 5, job_id="job-1",
    )  # fmt: skip
    assert (await connection.api("GET", "trunk/list"))["errcode"] == 0
    for _ in range(5):  # another tool with a wrong secret gets this IP blocked meanwhile
        wrong = {"username": entry.client_id, "password": "not-it"}
        with pytest.raises(PbxAuthError):
            await _call(session, entry)("get_token", wrong)
    assert sim.counters(PBX)["blocked_ips"]
    with pytest.raises(LoginRefusedError, match="has blocked this machine's IP") as blocked:
        await connection.api("GET", "trunk/list")
    assert blocked.value.errcode == 70004
    requests = dict(sim.counters(PBX)["requests"])
    # Another job, in another process, with its own token to fetch: nothing is sent.
    other = TokenCache(redis_client, clock)
    with pytest.raises(LoginRefusedError, match="by job job-1"):
        await other.token(entry, _call(session, entry), "job-2")
    assert sim.counters(PBX)["requests"] == requests
