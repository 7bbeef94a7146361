"""What the routes share: the job store, the queue, the settings, and the thread pool that runs
the synchronous producer and redis-py calls off the event loop."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, ParamSpec, TypeVar

from aiohttp import web
from pydantic import BaseModel

from jobs.queue import TaskQueue
from jobs.store import JobStore

P = ParamSpec("P")
T = TypeVar("T")
# Threads for blocking calls: uploads validated at once, and the Redis reads of every poll.
THREADS = 8


@dataclass(frozen=True)
class ApiConfig:
    """How the API is served."""

    token: str | None  # the bearer token /api asks for; None: none (loopback only)
    max_upload_bytes: int
    version: str


@dataclass
class Backend:
    """The job store and queue the routes act on, and where their blocking calls run."""

    store: JobStore
    queue: TaskQueue
    config: ApiConfig
    executor: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(THREADS, thread_name_prefix="trunkctl-api")
    )

    async def call(self, function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """`function(*args, **kwargs)` on the thread pool."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self.executor, functools.partial(function, *args, **kwargs)
        )


BACKEND = web.AppKey("backend", Backend)


def backend(request: web.Request) -> Backend:
    """The backend of the request's app."""
    return request.app[BACKEND]


def answer(model: type[BaseModel], data: Any, status: int = 200) -> web.Response:
    """`data` checked against its model (the one the OpenAPI document shows) as JSON."""
    return web.json_response(model.model_validate(data).model_dump(mode="json"), status=status)
