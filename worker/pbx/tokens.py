"""One access token per PBX API client, shared by every worker process through Redis.

A token is fetched single-flight: an asyncio lock per client here, a Redis lock across processes,
taken in the same step that looks at Redis and reads what a fetch needs (refusals, pauses, the
failed-login budget). On 10004 the caller invalidates exactly the token that failed, so N tasks
seeing one expiry cause one refresh. Whether a fetch may be sent: login_gate.py and refusals.py.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal, overload

import redis.asyncio as aioredis

from core import keys
from jobs.held_locks import HeldLocks
from jobs.locks import owner_token
from jobs.redis_batch import RedisBatcher
from trunks.pbx import PbxEntry
from worker.pbx.errors import (
    CircuitOpenError,
    LoginUnansweredError,
    PbxAuthError,
    PbxConnectionError,
    PbxRejectedError,
    PbxTokenCapError,
    PbxTokenExpiredError,
    PbxUnreachableError,
    PbxUnusableError,
)
from worker.pbx.login_gate import (
    FAILED_LOGINS_WINDOW_S,
    MAX_FAILED_LOGINS,
    UNANSWERED_SPACING_S,
    Action,
    LoginFacts,
    next_step,
)
from worker.pbx.login_records import LoginRecords, login_facts
from worker.pbx.refusals import Scope, scope_of
from worker.pbx.token_pair import DEFAULT_ACCESS_LIFETIME_S, TokenPair
from worker.pbx.token_scripts import (
    INVALIDATE_LUA,
    LOCKED,
    READ_OR_LOCK_LUA,
    STORE_AND_UNLOCK_LUA,
    UNLOCK_AND_RELEASE_LUA,
    USABLE,
)

__all__ = ["INVALIDATE_LUA", "READ_OR_LOCK_LUA", "STORE_AND_UNLOCK_LUA", "TokenCache", "TokenCall"]

# The fetch lock, renewed while its fetch lasts: a worker killed while fetching stalls the PBX this
# long at most.
LOCK_TTL_MS = 10_000
LOCK_POLL_S = 0.05

# Sends one token request (get_token / refresh_token) and returns the answer.
TokenCall = Callable[[str, dict[str, Any]], Awaitable[dict[str, Any]]]


@dataclass(slots=True)
class _Fetch:
    """One fetch under the Redis lock: its owner token and its place in the failed-login
    budget (`member`), which it gives back unless the PBX refused it (`kept`)."""

    entry: PbxEntry
    job_id: str
    owner: str
    member: str
    kept: bool = False


class TokenCache:
    """Access tokens by PBX client: process memory, then Redis, then the PBX."""

    def __init__(
        self,
        redis: aioredis.Redis,
        clock: Callable[[], float] = time.time,
        *,
        probe_every_s: float = UNANSWERED_SPACING_S,
    ) -> None:
        self._redis = redis
        self._clock = clock
        self._probe_every_s = probe_every_s  # a hung PBX's logins (see login_gate)
        self._local: dict[tuple[str, str], TokenPair] = {}  # by (base URL, client id)
        self._locks: dict[str, asyncio.Lock] = {}
        # Token calls of one loop turn (a burst of first tasks, one per PBX) share a pipeline.
        self._batch = RedisBatcher(redis)
        self._read_or_lock = redis.register_script(READ_OR_LOCK_LUA)
        self._store_and_unlock = redis.register_script(STORE_AND_UNLOCK_LUA)
        self._unlock = redis.register_script(UNLOCK_AND_RELEASE_LUA)
        self._invalidate = redis.register_script(INVALIDATE_LUA)
        self._records = LoginRecords(redis, self._batch, clock)
        self._held = HeldLocks(redis)  # fetch locks, renewed while their fetch lasts

    async def token(self, entry: PbxEntry, call: TokenCall, job_id: str = "") -> str:
        """A usable access token for the entry's API client, fetched at most once at a time, or
        why not (refused or paused for `job_id`, see refusals.py and login_gate.py)."""
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
        """For a request holding its PBX's slot without a token it may send: one renewed through
        `call` (in that slot), or stored meanwhile; None while another fetch is under way."""
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

    async def refused(
        self, entry: PbxEntry, exc: PbxUnusableError, job_id: str, endpoint: str
    ) -> PbxUnusableError:
        """For a request (not a token call) the PBX refused: the error to raise. Only a refusal of
        this machine's IP is remembered (for the device); the job's circuit ends the rest."""
        if scope_of(exc, endpoint) is not Scope.DEVICE:
            return exc
        error, _kept = await self._records.remember(entry, exc, endpoint, job_id=job_id)
        return error

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
        """The pair in Redis if usable, else one fetched under the Redis lock, or (`wait`) by
        another process meanwhile; without `wait`, None while another holds the lock."""
        owner = owner_token()
        fetch = _Fetch(entry, job_id, owner, f"{owner} {job_id}")
        read_keys = [
            key, keys.token_lock(entry.base_url, entry.client_id),
            keys.job_circuit(job_id),
            keys.token_capped(entry.base_url, entry.client_id),
            keys.token_unanswered(entry.base_url, entry.client_id),
            keys.token_refused_secrets(entry.base_url, entry.client_id),
            keys.device_refused(entry.base_url), keys.device_failed_logins(entry.base_url),
        ]  # fmt: skip
        secret_fingerprint = await self._records.fingerprint(entry)
        while True:
            result = await self._batch.script(
                self._read_or_lock,
                read_keys,
                [
                    owner, LOCK_TTL_MS, keys.circuit_field(entry.base_url), repr(self._clock()),
                    DEFAULT_ACCESS_LIFETIME_S,
                    secret_fingerprint, FAILED_LOGINS_WINDOW_S, MAX_FAILED_LOGINS, fetch.member,
                ],
            )  # fmt: skip
            status, stored_fields = result[0], result[1]
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
        return await self._fetch_locked(fetch, pair, call, login_facts(result))

    async def _fetch_locked(
        self, fetch: _Fetch, old: TokenPair | None, call: TokenCall, facts: LoginFacts
    ) -> TokenPair:
        """Fetch a pair under the Redis lock, store it and drop the lock (whatever happens)."""
        entry = fetch.entry
        lock_key = keys.token_lock(entry.base_url, entry.client_id)
        budget_key = keys.device_failed_logins(entry.base_url)
        self._held.hold(lock_key, fetch.owner, LOCK_TTL_MS)
        unlocked = False
        try:
            pair = await self._fetch(fetch, old, call, facts)
            # Before anything else: the PBX may have revoked the old token with this refresh,
            # and the request that had to wait for the refresh's slot takes the token now.
            self._local[(entry.base_url, entry.client_id)] = pair
            ttl_ms = pair.keep_ms(self._clock())
            fields = [part for item in pair.as_hash().items() for part in item]
            await self._batch.script(
                self._store_and_unlock,
                [keys.token(entry.base_url, entry.client_id), lock_key, budget_key],
                [fetch.owner, ttl_ms, fetch.member, *fields],
            )
            unlocked = True
            return pair
        finally:
            self._held.let_go(lock_key)
            if not unlocked:
                member = "" if fetch.kept else fetch.member  # kept: a failed login's record
                await self._batch.script(
                    self._unlock, [lock_key, budget_key], [fetch.owner, member]
                )

    async def _fetch(
        self, fetch: _Fetch, old: TokenPair | None, call: TokenCall, facts: LoginFacts
    ) -> TokenPair:
        """A new pair: refreshed if `old` can be, else a login, if login_gate allows either."""
        now = self._clock()
        action = next_step(
            facts, now, refreshable=old is not None and old.refreshable(now),
            probe_every_s=self._probe_every_s,
        )  # fmt: skip
        if old is not None and action is Action.REFRESH:
            try:
                answer = await call("refresh_token", {"refresh_token": old.refresh_token})
            except (PbxTokenExpiredError, PbxRejectedError):
                # The refresh token is gone or refused: forget the pair (this process holds the
                # fetch lock), so that nobody tries it again, and log in, if that may be done.
                await self._redis.delete(keys.token(fetch.entry.base_url, fetch.entry.client_id))
                next_step(
                    facts, self._clock(), refreshable=False, probe_every_s=self._probe_every_s
                )
            except CircuitOpenError:
                raise  # stopped before it left (a refusal known already, a cancel): nothing new
            except PbxUnusableError as exc:
                # Unusable for this job (a refusal, a certificate): nobody of it tries this
                # client again, neither a refresh with the pair (forgotten) nor a login, until
                # `retry`.
                raise await self._remember(fetch, exc, "refresh_token") from None
            else:
                # Timed from the answer: the call may have waited for a slot first.
                return TokenPair.from_answer(answer, self._clock())
        return await self._login(fetch, call)

    async def _login(self, fetch: _Fetch, call: TokenCall) -> TokenPair:
        """A new pair from get_token, counting what went wrong for the next ones (login_gate)."""
        entry = fetch.entry
        secret = entry.client_secret.get_secret_value()
        try:
            answer = await call("get_token", {"username": entry.client_id, "password": secret})
        except PbxUnreachableError:
            raise  # no connection, so no login reached the PBX: nothing to count
        except PbxConnectionError as exc:
            # It may have reached the PBX, which then issued a token nobody will ever use.
            await self._records.count_unanswered(entry)
            raise LoginUnansweredError(str(exc), errmsg=exc.errmsg) from None
        except PbxTokenCapError:
            await self._records.pause_at_cap(entry)
            raise
        except CircuitOpenError:
            raise  # stopped before it left: nothing to remember
        except PbxUnusableError as exc:
            raise await self._remember(fetch, exc, "get_token") from None
        return TokenPair.from_answer(answer, self._clock())

    async def _remember(self, fetch: _Fetch, exc: PbxUnusableError, endpoint: str) -> PbxAuthError:
        """Record the refusal (see LoginRecords.remember); the error to raise."""
        error, fetch.kept = await self._records.remember(
            fetch.entry, exc, endpoint, job_id=fetch.job_id, member=fetch.member
        )
        self._local.pop((fetch.entry.base_url, fetch.entry.client_id), None)
        return error
