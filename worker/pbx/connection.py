"""The API of one PBX as the delivery logic uses it: tokens, slots and replay handled here."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from trunks.pbx import PbxEntry
from worker.pbx.client import PbxClient
from worker.pbx.errors import PbxBadAnswerError, PbxTokenExpiredError
from worker.pbx.limiter import DeviceLimiter
from worker.pbx.tokens import TokenCache

SEARCH_PAGE_SIZE = 100
BeforeSend = Callable[[], Awaitable[None]]


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
    ) -> None:
        self.entry = entry
        self._job_id = job_id  # whose run a refused login ends (see TokenCache.token)
        self._client = client
        self._limiter = limiter
        self._tokens = tokens
        self._slot_wait_s = slot_wait_s

    async def _token_call(self, endpoint: str, body: dict[str, Any]) -> dict[str, Any]:
        async with self._limiter.slot(self.entry, self._slot_wait_s):
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
    ) -> dict[str, Any]:
        """One authenticated call; on 10004 the token is renewed once and the call replayed once.

        `before_send` runs each time the request is about to go out (its slot held).
        """
        for replay in (False, True):
            try:
                return await self._send(method, endpoint, before_send, params=params, body=body)
            except _TokenRefusedError as refused:
                # Forgotten either way: the next run of a task must not send it again.
                await self._tokens.invalidate(self.entry, refused.token)
                if replay:
                    raise refused.error from None
        raise AssertionError("unreachable")

    async def _send(
        self, method: str, endpoint: str, before_send: BeforeSend | None, **kwargs: Any
    ) -> dict[str, Any]:
        """One request, with the token taken once its slot is held: a token that expired while
        the request waited for the slot is renewed first (once)."""
        for renewed in (False, True):
            fetched = await self._tokens.token(self.entry, self._token_call, self._job_id)
            async with self._limiter.slot(self.entry, self._slot_wait_s):
                token = self._tokens.current(self.entry)
                if token is None and not renewed:
                    continue  # leaves the slot: renewing takes one of its own
                if before_send is not None:
                    await before_send()
                await self._limiter.starting(self.entry)
                token = token or fetched
                try:
                    return await self._client.call(method, endpoint, token=token, **kwargs)
                except PbxTokenExpiredError as exc:
                    raise _TokenRefusedError(token, exc) from None
        raise AssertionError("unreachable")

    async def create_trunk(self, body: dict[str, Any], before_send: BeforeSend) -> int:
        """POST trunk/create; the new trunk's id. `before_send` runs before each request."""
        answer = await self.api("POST", "trunk/create", body=body, before_send=before_send)
        trunk_id = answer.get("id")
        if isinstance(trunk_id, int) and not isinstance(trunk_id, bool):
            return trunk_id
        # Created, but the answer lacks the id (seen with proxies and other firmware): ask.
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


def _integer(value: Any, what: str) -> int:
    """An integer the PBX answered (a number, or digits in a string), else PbxBadAnswerError."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise PbxBadAnswerError(f"{what} is not an integer")
    try:
        return int(value)
    except ValueError:
        raise PbxBadAnswerError(f"{what} is not an integer") from None
