"""The API of one PBX as the delivery logic uses it: tokens, slots and replay handled here."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from core import keys
from trunks.compare import pbx_detail
from trunks.pbx import PbxEntry
from worker.pbx.client import PbxClient
from worker.pbx.errors import (
    PbxBadAnswerError,
    PbxRejectedError,
    PbxTimeoutError,
    PbxTokenExpiredError,
    PbxTokenLapsedError,
    PbxUnusableError,
)
from worker.pbx.limiter import DeviceLimiter
from worker.pbx.tokens import TokenCache

SEARCH_PAGE_SIZE = 100
# The errcode of a trunk id the PBX does not know (40002 PARAMETER ERROR, "not_exist").
NO_SUCH_TRUNK = 40002
# A request gives its slot up to wait for a token renewal at most this often less one.
MAX_SLOT_TRIES = 3
# After a request timed out, its slot is held for another timeout_s, up to this long.
TIMEOUT_HOLD_MAX_S = 30.0
BeforeSend = Callable[[], Awaitable[None]]
OnRefused = Callable[[], None]
# Called, slot still held, when a request finds the PBX unusable (refused credentials or caller,
# a certificate that does not verify): the job's circuit opens before another request leaves.
OnUnusable = Callable[[PbxUnusableError], Awaitable[object]]


class _TokenRefusedError(Exception):
    """The PBX answered 10004 to this token."""

    def __init__(self, token: str, error: PbxTokenExpiredError) -> None:
        super().__init__("token expired")
        self.token = token
        self.error = error


class PbxConnection:
    """Authenticated, rate-limited calls to one PBX."""

    def __init__(
        self,
        entry: PbxEntry,
        client: PbxClient,
        limiter: DeviceLimiter,
        tokens: TokenCache,
        slot_wait_s: float,
        *,
        job_id: str = "",
        on_unusable: OnUnusable | None = None,
    ) -> None:
        self.entry = entry
        self._job_id = job_id  # whose round a refused login ends (see TokenCache.token)
        self._on_unusable = on_unusable
        # The job's circuit for this PBX: a slot asked of Redis is refused once it is open.
        self._circuit = (
            (keys.job_circuit(job_id), keys.circuit_field(entry.base_url)) if job_id else None
        )
        self._client = client
        self._limiter = limiter
        self._tokens = tokens
        self._slot_wait_s = slot_wait_s

    async def _token_call(self, endpoint: str, body: dict[str, Any]) -> dict[str, Any]:
        # Ahead of the queued requests: they all wait for the token.
        async with self._limiter.slot(
            self.entry, self._slot_wait_s, urgent=True, circuit=self._circuit
        ):
            return await self._token_call_in_slot(endpoint, body)

    async def _token_call_in_slot(self, endpoint: str, body: dict[str, Any]) -> dict[str, Any]:
        await self._limiter.starting(self.entry)
        return await self._client.call("POST", endpoint, body=body)

    async def api(
        self,
        method: str,
        endpoint: str,
        *,
        params: dict[str, str | int] | None = None,
        body: dict[str, Any] | None = None,
        before_send: BeforeSend | None = None,
        on_refused: OnRefused | None = None,
    ) -> dict[str, Any]:
        """One authenticated call, replayed once with a renewed token after 10004. `before_send`
        is awaited as each request leaves (slot held), `on_refused` after each 10004."""
        for replay in (False, True):
            try:
                return await self._send(method, endpoint, before_send, params=params, body=body)
            except _TokenRefusedError as refused:
                if on_refused is not None:
                    on_refused()
                # Forgotten either way: the next run of a task must not send it again.
                await self._tokens.invalidate(self.entry, refused.token)
                if replay:
                    raise refused.error from None
        raise AssertionError("unreachable")

    async def _send(
        self, method: str, endpoint: str, before_send: BeforeSend | None, **kwargs: Any
    ) -> dict[str, Any]:
        """One request, its token taken once its slot is held. A token that expired meanwhile is
        renewed in that slot, else (a min interval, a renewal under way) the slot is given up."""
        for _ in range(MAX_SLOT_TRIES):
            await self._tokens.token(self.entry, self._token_call, self._job_id)
            async with self._limiter.slot(self.entry, self._slot_wait_s, circuit=self._circuit):
                token = self._tokens.current(self.entry)
                if token is None and self._limiter.allows_back_to_back(self.entry):
                    token = await self._tokens.renew_now(
                        self.entry, self._token_call_in_slot, self._job_id
                    )
                if token is None:
                    continue  # leaves the slot: renewing takes one of its own
                if before_send is not None:
                    await before_send()
                await self._limiter.starting(self.entry)
                try:
                    return await self._client.call(method, endpoint, token=token, **kwargs)
                except PbxTokenExpiredError as exc:
                    raise _TokenRefusedError(token, exc) from None
                except PbxUnusableError as exc:
                    # A refusal of this machine's IP is remembered for the device, for every job.
                    refusal = await self._tokens.refused(self.entry, exc, self._job_id, endpoint)
                    if self._on_unusable is not None:
                        # Before the slot is given back: the next request for this PBX, from
                        # any process, finds the job's circuit open and is not sent.
                        await self._on_unusable(refusal)
                    raise refusal from None
                except PbxTimeoutError:
                    # The PBX may still be working on it: no other request (nor this one's
                    # lookup) joins it there a while.
                    await asyncio.sleep(min(self.entry.timeout_s, TIMEOUT_HOLD_MAX_S))
                    raise
        # Never sent: each time the request had its slot, its token had expired again.
        raise PbxTokenLapsedError(
            f"{endpoint}: no access token lived until the request's turn ({MAX_SLOT_TRIES} tries)",
            errcode=10004, errmsg="TOKEN EXPIRED",
        )  # fmt: skip

    async def create_trunk(
        self, body: dict[str, Any], before_send: BeforeSend, on_refused: OnRefused | None = None
    ) -> int:
        """POST trunk/create; the new trunk's id (`before_send`, `on_refused`: see api)."""
        answer = await self.api(
            "POST", "trunk/create", body=body, before_send=before_send, on_refused=on_refused
        )
        trunk_id = answer.get("id")
        if isinstance(trunk_id, int) and not isinstance(trunk_id, bool):
            return trunk_id
        # Created, but the answer lacks the id (some proxies and firmware): ask.
        found = await self.find_trunk(str(body.get("name", "")))
        if found is None:
            raise PbxBadAnswerError("trunk/create: success, but no trunk of that name is listed")
        return found

    async def find_trunk(self, name: str) -> int | None:
        """The id of the trunk named exactly `name` (search is fuzzy: every page is read)."""
        page, seen = 1, 0
        while True:
            answer = await self.api(
                "GET",
                "trunk/search",
                params={"search_value": name, "page": page, "page_size": SEARCH_PAGE_SIZE},
            )
            rows = answer.get("data") or []
            if not isinstance(rows, list):
                raise PbxBadAnswerError("trunk/search: success, but its data is not a list")
            for row in rows:
                if isinstance(row, dict) and row.get("name") == name:
                    return _integer(row.get("id"), "trunk/search: the trunk's id")
            seen += len(rows)
            total = _integer(answer.get("total_number") or 0, "trunk/search: total_number")
            # Page by what came back: a PBX may serve fewer rows per page than asked.
            if not rows or seen >= total:
                return None
            page += 1

    async def get_trunk(self, trunk_id: int) -> dict[str, Any] | None:
        """GET trunk/get: the trunk's full detail (its password in clear: never log it), or None
        when the PBX has no trunk of that id (40002)."""
        try:
            answer = await self.api("GET", "trunk/get", params={"id": trunk_id})
        except PbxRejectedError as exc:
            if exc.errcode == NO_SUCH_TRUNK:
                return None
            raise
        return pbx_detail(answer.get("data"))

    async def update_trunk(
        self, trunk_id: int, fields: dict[str, Any], before_send: BeforeSend
    ) -> None:
        """POST trunk/update with `id` and the fields to change (`before_send`: see api)."""
        await self.api(
            "POST", "trunk/update", body={"id": trunk_id, **fields}, before_send=before_send
        )

    async def delete_trunk(self, trunk_id: int, before_send: BeforeSend) -> None:
        """GET trunk/delete (Yeastar deletes with a GET); `before_send` as for update_trunk."""
        await self.api("GET", "trunk/delete", params={"id": trunk_id}, before_send=before_send)


def _integer(value: Any, what: str) -> int:
    """An integer the PBX answered (a number, or digits in a string), else PbxBadAnswerError."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise PbxBadAnswerError(f"{what} is not an integer")
    try:
        return int(value)
    except ValueError:
        raise PbxBadAnswerError(f"{what} is not an integer") from None
