"""One access token per PBX API client, shared by every worker process through Redis.

A token is fetched single-flight: one asyncio lock per client in this process, one Redis lock
across processes, and a look at Redis in the same step as taking the lock (double-checked). That
step also reads everything a fetch needs, and storing the new token drops the lock: a token found
in Redis costs one round trip, a first fetch two besides the request. A token is
refreshed with its refresh token before it expires; on `10004` the caller invalidates exactly the
token that failed and asks again, so N tasks seeing the same expiry cause one refresh.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any, Literal, overload

import redis.asyncio as aioredis

from core import keys
from jobs.held_locks import HeldLocks
from jobs.locks import UNLOCK_LUA, owner_token
from jobs.redis_batch import RedisBatcher
from trunks.pbx import PbxEntry
from worker.pbx.errors import (
    PbxAuthError,
    PbxConnectionError,
    PbxRejectedError,
    PbxTokenCapError,
    PbxTokenExpiredError,
    PbxUnreachableError,
)
from worker.pbx.token_pair import DEFAULT_ACCESS_LIFETIME_S, TokenPair

# The fetch lock lives this long unless its holder renews it, which it does every third of that
# for as long as its fetch lasts: a worker killed while fetching stalls the PBX this long at most.
LOCK_TTL_MS = 10_000
LOCK_POLL_S = 0.05
# After a 60002 on get_token, no worker asks that PBX for a token again for this long.
TOKEN_CAP_PAUSE_MS = 60_000
# A login that got no answer (a timeout, a dropped connection) may have issued a token anyway,
# which counts toward the PBX's cap of 8 until it expires: after this many within a token's
# lifetime, no login is tried until the oldest of them is that old.
MAX_UNANSWERED_LOGINS = 3
# A refused login is remembered (per job) this long after the last one: as long as a job lives.
REFUSAL_KEEP_MS = 31 * 24 * 3600 * 1000

# KEYS: token, fetch lock, refused logins, token-cap pause, unanswered logins. ARGV: owner,
# lock ms, job id, now (epoch s), a token's lifetime (s), MAX_UNANSWERED_LOGINS. A pair is usable
# until its refresh_at. Returns {status, the stored pair's fields, the job's refused login or '',
# why no login may be tried (0: it may, PAUSED_AT_CAP, TOO_MANY_UNANSWERED)}: status 1 when the
# stored pair is usable (no lock taken), 2 when the fetch lock is now ours, 0 when another holds it.
READ_OR_LOCK_LUA = """
local pair = redis.call('HGETALL', KEYS[1])
for i = 1, #pair, 2 do
    if pair[i] == 'refresh_at' and tonumber(pair[i + 1]) > tonumber(ARGV[4]) then
        return {1, pair, '', 0}
    end
end
if not redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then return {0, pair, '', 0} end
local paused = 0
if redis.call('EXISTS', KEYS[4]) == 1 then
    paused = 1
elseif redis.call('ZCOUNT', KEYS[5], tonumber(ARGV[4]) - tonumber(ARGV[5]), '+inf')
        >= tonumber(ARGV[6]) then
    paused = 2
end
return {2, pair, redis.call('HGET', KEYS[3], ARGV[3]) or '', paused}
"""
PAUSED_AT_CAP, TOO_MANY_UNANSWERED = 1, 2
USABLE, LOCKED = 1, 2
# KEYS: token, fetch lock. ARGV: owner, ttl ms, then the pair's fields and values. Replaces the
# stored pair and drops the lock if this owner still holds it.
STORE_AND_UNLOCK_LUA = """
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
redis.call('PEXPIRE', KEYS[1], ARGV[2])
if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
return 1
"""
# KEYS: token. ARGV: the access token the PBX refused. Marks the stored pair due for renewal if
# it still holds that token (one step: the pair may expire or be replaced meanwhile).
INVALIDATE_LUA = """
if redis.call('HGET', KEYS[1], 'access_token') == ARGV[1] then
    redis.call('HSET', KEYS[1], 'refresh_at', '0')
end
return 1
"""


# Sends one token request (get_token / refresh_token) and returns the answer.
TokenCall = Callable[[str, dict[str, Any]], Awaitable[dict[str, Any]]]


class TokenCache:
    """Access tokens by PBX client: process memory, then Redis, then the PBX."""

    def __init__(self, redis: aioredis.Redis, clock: Callable[[], float] = time.time) -> None:
        self._redis = redis
        self._clock = clock
        self._local: dict[tuple[str, str], TokenPair] = {}  # by (base URL, client id)
        self._locks: dict[str, asyncio.Lock] = {}
        # Token calls of one loop turn (a burst of first tasks, one per PBX) share a pipeline.
        self._batch = RedisBatcher(redis)
        self._unlock = redis.register_script(UNLOCK_LUA)
        self._read_or_lock = redis.register_script(READ_OR_LOCK_LUA)
        self._store_and_unlock = redis.register_script(STORE_AND_UNLOCK_LUA)
        self._invalidate = redis.register_script(INVALIDATE_LUA)
        self._held = HeldLocks(redis)  # fetch locks, renewed while their fetch lasts

    async def token(self, entry: PbxEntry, call: TokenCall, job_id: str = "") -> str:
        """A usable access token for the entry's API client, fetched at most once at a time.

        After a login the PBX refused, no login to that API client is tried again for the same job
        (`job_id`), whatever the secret: each job run spends at most one strike toward the PBX's
        IP block."""
        client = (entry.base_url, entry.client_id)
        pair = self._local.get(client)
        if pair and pair.usable(self._clock()):
            return pair.access_token
        key = keys.token(*client)
        async with self._locks.setdefault(key, asyncio.Lock()):
            pair = await self._stored_or_renewed(entry, key, call, job_id, wait=True)
            self._local[client] = pair
            return pair.access_token

    async def renew_now(self, entry: PbxEntry, call: TokenCall, job_id: str = "") -> str | None:
        """For a request that holds its PBX's slot and found no token it may send: a token
        renewed through `call` (which sends in that slot), or the one another process stored
        meanwhile. None when another task or process is fetching one already: that fetch needs
        a slot of its own, so the caller must give its slot up and wait for it (see token)."""
        client = (entry.base_url, entry.client_id)
        key = keys.token(*client)
        lock = self._locks.setdefault(key, asyncio.Lock())
        if lock.locked():
            return None
        async with lock:
            pair = await self._stored_or_renewed(entry, key, call, job_id, wait=False)
            if pair is None:
                return None
            self._local[client] = pair
            return pair.access_token if pair.alive(self._clock()) else None

    def current(self, entry: PbxEntry) -> str | None:
        """The access token this process last got for the entry's client, while it may still be
        sent (see TokenPair.alive): a request that waited for its slot takes the freshest one."""
        pair = self._local.get((entry.base_url, entry.client_id))
        return pair.access_token if pair and pair.alive(self._clock()) else None

    async def invalidate(self, entry: PbxEntry, failed_token: str) -> None:
        """Forget a token the PBX answered 10004 to, unless another one replaced it already."""
        client = (entry.base_url, entry.client_id)
        local = self._local.get(client)
        if local and local.access_token == failed_token:
            del self._local[client]
        # Keeps the refresh token: the next fetch refreshes instead of logging in again.
        await self._batch.script(self._invalidate, [keys.token(*client)], [failed_token])

    @overload
    async def _stored_or_renewed(
        self, entry: PbxEntry, key: str, call: TokenCall, job_id: str, *, wait: Literal[True]
    ) -> TokenPair: ...

    @overload
    async def _stored_or_renewed(
        self, entry: PbxEntry, key: str, call: TokenCall, job_id: str, *, wait: Literal[False]
    ) -> TokenPair | None: ...

    async def _stored_or_renewed(
        self, entry: PbxEntry, key: str, call: TokenCall, job_id: str, *, wait: bool
    ) -> TokenPair | None:
        """The pair in Redis if usable, else a new one fetched under the Redis lock, or (`wait`)
        the one another process fetched meanwhile; without `wait`, None while another holds
        the lock."""
        lock_key = keys.token_lock(entry.base_url, entry.client_id)
        owner = owner_token()
        lock_keys = [
            key, lock_key, keys.token_refused(entry.base_url, entry.client_id),
            keys.token_capped(entry.base_url, entry.client_id),
            keys.token_unanswered(entry.base_url, entry.client_id),
        ]  # fmt: skip
        while True:
            status, stored_fields, refusal, paused = await self._batch.script(
                self._read_or_lock,
                lock_keys,
                [
                    owner, LOCK_TTL_MS, job_id, repr(self._clock()), DEFAULT_ACCESS_LIFETIME_S,
                    MAX_UNANSWERED_LOGINS,
                ],
            )  # fmt: skip
            pair = TokenPair.from_hash(
                dict(zip(stored_fields[::2], stored_fields[1::2], strict=True))
            )
            if status == USABLE and pair is not None:
                return pair
            if status == LOCKED:
                break
            if not wait:
                return None
            await asyncio.sleep(LOCK_POLL_S)  # another process is fetching it
        self._held.hold(lock_key, owner, LOCK_TTL_MS)
        unlocked = False
        try:
            pair = await self._fetch(entry, pair, call, job_id, refusal=refusal, paused=paused)
            # Before anything else: the PBX may have revoked the old token with this refresh,
            # and the request that had to wait for the refresh's slot takes the token now.
            self._local[(entry.base_url, entry.client_id)] = pair
            ttl_ms = pair.keep_ms(self._clock())
            fields = [part for item in pair.as_hash().items() for part in item]
            await self._batch.script(
                self._store_and_unlock, [key, lock_key], [owner, ttl_ms, *fields]
            )
            unlocked = True
            return pair
        finally:
            self._held.let_go(lock_key)
            if not unlocked:
                await self._batch.script(self._unlock, [lock_key], [owner])

    async def _fetch(
        self,
        entry: PbxEntry,
        old: TokenPair | None,
        call: TokenCall,
        job_id: str,
        *,
        refusal: bytes,
        paused: int,
    ) -> TokenPair:
        """A new pair: refreshed if `old` can be, else a login, unless a login of this job was
        refused before (`refusal`) or logins are `paused` (see _login)."""
        if refusal:
            # A login of this job failed on this PBX client already: another try, whatever its
            # secret (two aliases may name the same PBX), would spend a strike toward the IP
            # block, and a refresh would only spend a request. `retry` clears the refusal.
            reason = json.loads(refusal)
            raise PbxAuthError(
                reason["message"], errcode=reason["errcode"], errmsg=reason["errmsg"]
            )
        if old and old.refreshable(self._clock()):
            try:
                answer = await call("refresh_token", {"refresh_token": old.refresh_token})
            except (PbxTokenExpiredError, PbxRejectedError):
                # The refresh token is gone or refused: forget the pair (this process holds the
                # fetch lock), so that nobody tries it again, and log in.
                await self._redis.delete(keys.token(entry.base_url, entry.client_id))
            except PbxAuthError as exc:
                # The PBX refused the client or the caller itself (-1, 70004, 70087, 10005...):
                # as for a refused login, nobody of this job tries this client again, neither a
                # refresh with the pair (forgotten) nor a login, until `retry`.
                await self._record_refusal(entry, job_id, exc, forget_pair=True)
                raise
            else:
                # Timed from the answer: the call may have waited for a slot first.
                return TokenPair.from_answer(answer, self._clock())
        return await self._login(entry, call, job_id, paused=paused)

    async def _login(
        self, entry: PbxEntry, call: TokenCall, job_id: str, *, paused: int
    ) -> TokenPair:
        """A new pair from get_token, unless the PBX's token cap is being waited out, or too many
        logins went unanswered lately (each may have left a token behind on the PBX)."""
        if paused == PAUSED_AT_CAP:
            # The PBX said 8 tokens are out: wait for one to expire instead of asking again.
            raise PbxTokenCapError(
                "get_token: MAX LIMITATION EXCEEDED (errcode 60002)", errcode=60002
            )
        unanswered_key = keys.token_unanswered(entry.base_url, entry.client_id)
        now = self._clock()
        since = now - DEFAULT_ACCESS_LIFETIME_S
        if paused == TOO_MANY_UNANSWERED:
            raise PbxTokenCapError(
                f"get_token: {MAX_UNANSWERED_LOGINS} logins in the last "
                f"{DEFAULT_ACCESS_LIFETIME_S / 60:.0f} minutes got no answer, and each may have "
                "left a token on the PBX (8 at most): not logging in again for now",
                errmsg="too many unanswered logins",
            )
        secret = entry.client_secret.get_secret_value()
        try:
            answer = await call("get_token", {"username": entry.client_id, "password": secret})
        except PbxUnreachableError:
            raise  # no connection, so no login reached the PBX: nothing to count
        except PbxConnectionError:
            # It may have reached the PBX, which then issued a token nobody will ever use.
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.zadd(unanswered_key, {owner_token(): now})
                pipe.zremrangebyscore(unanswered_key, "-inf", since)
                pipe.expire(unanswered_key, int(DEFAULT_ACCESS_LIFETIME_S))
                await pipe.execute()
            raise
        except PbxTokenCapError:
            capped_key = keys.token_capped(entry.base_url, entry.client_id)
            await self._redis.set(capped_key, "1", px=TOKEN_CAP_PAUSE_MS)
            raise
        except PbxAuthError as exc:
            await self._record_refusal(entry, job_id, exc)
            raise
        return TokenPair.from_answer(answer, self._clock())

    async def _record_refusal(
        self, entry: PbxEntry, job_id: str, exc: PbxAuthError, *, forget_pair: bool = False
    ) -> None:
        """Remember that the PBX refused this client for the job (see _fetch); `forget_pair`:
        drop the stored pair too, so that its refresh token is not tried again."""
        reason = {"message": str(exc), "errcode": exc.errcode, "errmsg": exc.errmsg}
        refused_key = keys.token_refused(entry.base_url, entry.client_id)
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hset(refused_key, job_id, json.dumps(reason))
            pipe.pexpire(refused_key, REFUSAL_KEEP_MS)
            if forget_pair:
                pipe.delete(keys.token(entry.base_url, entry.client_id))
            await pipe.execute()
        self._local.pop((entry.base_url, entry.client_id), None)
