"""An HTTP client of the API for tests: every answer is kept, to be swept for secrets."""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import pytest

T = TypeVar("T")


@dataclass
class Answer:
    """One HTTP answer: status, headers and body."""

    status: int
    headers: Mapping[str, str]
    text: str

    def json(self) -> Any:
        """The body as JSON."""
        import json  # noqa: PLC0415

        return json.loads(self.text)


@dataclass
class ApiClient:
    """Calls one server with (or without) a bearer token."""

    session: aiohttp.ClientSession
    url: str  # the page's URL, ending in /
    token: str | None
    answers: list[Answer] = field(default_factory=list)

    def _headers(self, token: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"} if token else {}

    async def request(
        self, method: str, path: str, *, token: str | None = "", **options: Any
    ) -> Answer:
        """`method` on `path` (relative to the root), with the client's token unless given."""
        use = self.token if token == "" else token
        headers = {**self._headers(use), **options.pop("headers", {})}
        async with self.session.request(
            method, self.url + path.lstrip("/"), headers=headers, **options
        ) as response:
            answer = Answer(response.status, dict(response.headers), await response.text())
        self.answers.append(answer)
        return answer

    async def get(self, path: str, **options: Any) -> Answer:
        """GET `path`."""
        return await self.request("GET", path, **options)

    async def upload(
        self,
        trunks: Sequence[Path],
        pbxs: Path | None = None,
        *,
        path: str = "api/jobs",
        fields: Mapping[str, str] | None = None,
        **options: Any,
    ) -> Answer:
        """POST a multipart form of these files (by their names) and fields."""
        form = aiohttp.FormData()
        for trunk in trunks:
            form.add_field("trunks", _content(trunk), filename=trunk.name, content_type="text/csv")
        if pbxs is not None:
            form.add_field("pbxs", _content(pbxs), filename=pbxs.name, content_type="text/csv")
        for name, value in (fields or {}).items():
            form.add_field(name, value)
        return await self.request("POST", path, data=form, **options)

    async def retry(self, job_id: str, pbxs: Path | None = None) -> Answer:
        """POST the job's retry, with a corrected inventory if given."""
        if pbxs is None:
            return await self.request("POST", f"api/jobs/{job_id}/retry")
        return await self.upload([], pbxs, path=f"api/jobs/{job_id}/retry")

    async def status(self, job_id: str) -> dict[str, Any]:
        """The job's `status --json` object (200 expected)."""
        answer = await self.get(f"api/jobs/{job_id}")
        assert answer.status == 200, answer.text
        status: dict[str, Any] = answer.json()
        return status

    async def wait_final(self, job_id: str, timeout_s: float = 60.0) -> dict[str, Any]:
        """Poll the job's status through the API until it is final."""

        async def final() -> dict[str, Any] | None:
            status = await self.status(job_id)
            return status if status["final"] else None

        return await poll(final, timeout_s, f"job {job_id} final")


def _content(path: Path) -> io.BytesIO:
    # A file object, not bytes: aiohttp warns about large bytes bodies (warnings are errors).
    return io.BytesIO(path.read_bytes())


async def poll(probe: Callable[[], Awaitable[T | None]], timeout_s: float, what: str) -> T:
    """Await `probe` until it returns something, or fail at the deadline."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = await probe()
        if value is not None:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout_s} s waiting for {what}")
        await asyncio.sleep(0.05)
