"""What the token cache writes to Redis of a PBX's answers to its token calls, and reads back:
refusals (for the job, the secret or the device, see refusals.py), failed and unanswered logins
and token-cap pauses (see login_gate.py), and the key of the secrets' fingerprints.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any

import redis.asyncio as aioredis

from core import keys
from jobs.item_store import CircuitReason, read_circuit
from jobs.locks import owner_token
from jobs.redis_batch import RedisBatcher
from jobs.secret_fingerprint import fingerprint, new_fingerprint_key
from trunks.pbx import PbxEntry
from worker.pbx.errors import PbxAuthError, PbxUnusableError
from worker.pbx.login_gate import FAILED_LOGINS_WINDOW_S, LoginFacts
from worker.pbx.refusals import REFUSAL_MEMORY_S, Refusal, Scope, is_failed_login, scope_of
from worker.pbx.token_pair import DEFAULT_ACCESS_LIFETIME_S
from worker.pbx.token_scripts import FINGERPRINT_KEY_LUA, RECORD_REFUSAL_LUA

log = logging.getLogger("worker.pbx.tokens")

# After a 60002 on get_token, no worker asks that PBX for a token again for this long.
TOKEN_CAP_PAUSE_MS = 60_000
# A job's refusal is kept this long after the last one: as long as a job lives.
JOB_REFUSAL_KEEP_MS = 31 * 24 * 3600 * 1000


class LoginRecords:
    """The records of one Redis, written as token calls end."""

    def __init__(
        self,
        redis: aioredis.Redis,
        batch: RedisBatcher,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._redis = redis
        self._batch = batch
        self._clock = clock
        self._record = redis.register_script(RECORD_REFUSAL_LUA)
        self._key_script = redis.register_script(FINGERPRINT_KEY_LUA)
        self._fingerprint_key: bytes | None = None

    async def fingerprint(self, entry: PbxEntry) -> str:
        """The keyed fingerprint of the entry's client secret (see jobs.secret_fingerprint)."""
        key = self._fingerprint_key
        if key is None:
            key = self._fingerprint_key = await self._batch.script(
                self._key_script, [keys.FINGERPRINT_KEY], [new_fingerprint_key()]
            )
        return fingerprint(key, entry.client_secret.get_secret_value())

    async def count_unanswered(self, entry: PbxEntry) -> None:
        """Count a login that got no answer: it may have left a token on the PBX."""
        now = self._clock()
        unanswered_key = keys.token_unanswered(entry.base_url, entry.client_id)
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.zadd(unanswered_key, {owner_token(): now})
            pipe.zremrangebyscore(unanswered_key, "-inf", now - DEFAULT_ACCESS_LIFETIME_S)
            pipe.expire(unanswered_key, int(DEFAULT_ACCESS_LIFETIME_S))
            await pipe.execute()

    async def pause_at_cap(self, entry: PbxEntry) -> None:
        """The PBX answered 60002 to a login: nobody asks it for a token for a while."""
        capped_key = keys.token_capped(entry.base_url, entry.client_id)
        await self._redis.set(capped_key, "1", px=TOKEN_CAP_PAUSE_MS)

    async def remember(
        self,
        entry: PbxEntry,
        exc: PbxUnusableError,
        endpoint: str,
        *,
        job_id: str,
        member: str = "",
    ) -> tuple[PbxAuthError, bool]:
        """Record a refusal of a call of `endpoint` for whom it concerns (refusals.py), logged once;
        the error to raise, and whether a refused token call kept its budget place (`member`)."""
        scope, now = scope_of(exc, endpoint), self._clock()
        refusal = Refusal.of(exc, scope, at=now, job_id=job_id, client_id=entry.client_id)
        memory_key = (
            keys.device_refused(entry.base_url)
            if scope is Scope.DEVICE
            else keys.token_refused_secrets(entry.base_url, entry.client_id)
        )
        failed_login = is_failed_login(exc, endpoint) and bool(member)  # member: a token call
        forget_pair = endpoint == "refresh_token" or scope is Scope.DEVICE
        error = refusal.error()
        circuit = CircuitReason(errcode=error.errcode, errmsg=error.errmsg)
        if error.detail is not None:
            circuit["detail"] = error.detail
        new = await self._batch.script(
            self._record,
            [
                keys.job_circuit(job_id), memory_key, keys.device_failed_logins(entry.base_url),
                keys.token(entry.base_url, entry.client_id), keys.job(job_id),
            ],
            [
                keys.circuit_field(entry.base_url), refusal.to_json(), scope.value,
                await self.fingerprint(entry), REFUSAL_MEMORY_S * 1000, JOB_REFUSAL_KEEP_MS,
                member if failed_login else "", repr(now), FAILED_LOGINS_WINDOW_S,
                "1" if forget_pair else "0",
                json.dumps(circuit, ensure_ascii=False) if job_id else "",
            ],
        )  # fmt: skip
        if new:
            log.warning("PBX %s: %s", entry.base_url, refusal.reason())
        return error, failed_login


def login_facts(result: list[Any]) -> LoginFacts:
    """What READ_OR_LOCK_LUA found, once it took the fetch lock."""
    _status, _pair, job, device, secret, capped, unanswered, failed, reserved = result
    failed_at = [
        (float(at), member.decode().partition(" ")[2])  # "<owner> <job id>"
        for member, at in zip(failed[::2], failed[1::2], strict=True)
    ]
    return LoginFacts(
        job_circuit=read_circuit(job),
        device_refusal=Refusal.from_json(device) if device else None,
        secret_refusal=Refusal.from_json(secret) if secret else None,
        capped=bool(capped),
        unanswered_at=[float(at) for at in unanswered[1::2]],
        failed_at=failed_at,
        reserved=bool(reserved),
    )
