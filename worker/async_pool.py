"""A Celery execution pool that awaits each task's I/O on the process's event loop.

Celery's threads pool parks one thread per task while its PBX answers. With a hundred PBXs in
flight, those threads wake and sleep around every request and take the GIL from the Celery
consumer, which then cannot fetch tasks as fast as the PBXs finish them. This pool uses no thread
per task. It runs a task in two steps on the worker's event loop:
1. the task's *async part* (registered with `async_part`): a coroutine, awaited beside all the
   others;
2. then Celery's own tracer, exactly as any pool runs it. The task body picks up the result of
   step 1 with `awaited()` and returns, retries or fails as usual. Late acks, retries and
   failures behave as under any other pool.
A task without an async part (or whose message cannot be read here) runs on a few threads, as the
threads pool would run it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import threading
import time
from collections.abc import Callable, Coroutine
from contextvars import ContextVar
from typing import Any, TypeVar

from celery.concurrency.base import BasePool, apply_target
from kombu.serialization import loads

log = logging.getLogger(__name__)
T = TypeVar("T")
AsyncPart = Callable[..., Coroutine[Any, Any, Any]]
LoopProvider = Callable[[], asyncio.AbstractEventLoop]

# Tasks without an async part run here (none of ours block for long).
FALLBACK_THREADS = 4
# On warm shutdown, tasks in progress get this long to finish; unfinished ones are redelivered.
SHUTDOWN_GRACE_S = 30.0

_async_parts: dict[str, AsyncPart] = {}
_loop_provider: LoopProvider | None = None
# (True, value) or (False, exception): what the async part of the running task came to.
_awaited: ContextVar[tuple[bool, Any] | None] = ContextVar("trunkctl_awaited", default=None)


def async_part(task_name: str) -> Callable[[AsyncPart], AsyncPart]:
    """Register the coroutine function the pool awaits, with the task's arguments, before it runs
    the task named `task_name`."""

    def register(part: AsyncPart) -> AsyncPart:
        _async_parts[task_name] = part
        return part

    return register


def use_loop(provider: LoopProvider) -> None:
    """Tell the pool where its event loop comes from (called once, when the worker starts)."""
    global _loop_provider  # noqa: PLW0603 - one loop per process is the point
    _loop_provider = provider


def awaited(otherwise: Callable[[], T]) -> T:
    """In a task body: the result of the task's async part (its exception re-raised), as this
    pool awaited it; under any other pool, `otherwise()` computes it on the calling thread."""
    result = _awaited.get()
    if result is None:
        return otherwise()
    ok, value = result
    if not ok:
        raise value
    return value  # type: ignore[no-any-return]


def _task_arguments(
    trace_args: tuple[Any, ...],
) -> tuple[AsyncPart, list[Any], dict[str, Any]] | None:
    """The async part and the arguments of the task a trace call runs, if it has one."""
    task_name, _task_id, _request, body, content_type, content_encoding = trace_args
    part = _async_parts.get(task_name)
    if part is None:
        return None
    try:
        raw = bytes(body) if isinstance(body, memoryview | bytearray) else body
        args, kwargs, _embed = loads(raw, content_type, content_encoding, accept={content_type})
    except Exception:  # noqa: BLE001 - the tracer reports the bad message itself
        return None
    if not isinstance(args, list | tuple) or not isinstance(kwargs, dict):
        return None
    return part, list(args), kwargs


def _finish(
    result: tuple[bool, Any],
    target: Callable[..., Any],
    args: tuple[Any, ...] | None,
    kwargs: dict[str, Any] | None,
    callback: Callable[..., Any] | None,
) -> None:
    token = _awaited.set(result)
    try:
        apply_target(target, args, kwargs, callback)
    except Exception as exc:  # noqa: BLE001 - a callback failed; the next task must still run
        # No traceback: its frames' text is not ours to vouch for (secrets).
        log.error("task bookkeeping failed: %s", type(exc).__name__)  # noqa: TRY400
    finally:
        _awaited.reset(token)


class ApplyResult:
    """What `on_apply` returns, as Celery's threads pool has it."""

    def __init__(self, future: concurrent.futures.Future[None]) -> None:
        self._future = future
        self.get = future.result

    def wait(self, timeout: float | None = None) -> None:
        """Wait for the task to finish."""
        concurrent.futures.wait([self._future], timeout)


class AsyncioPool(BasePool):
    """Runs tasks' async parts on the worker's event loop; see the module's doc."""

    body_can_be_buffer = True
    signal_safe = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._threads = concurrent.futures.ThreadPoolExecutor(max_workers=FALLBACK_THREADS)
        self._bookkeeping = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="bookkeeping"
        )
        self._in_progress: set[concurrent.futures.Future[None]] = set()
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None

    def on_start(self) -> None:
        if _loop_provider is None:
            raise RuntimeError("AsyncioPool: no event loop registered (worker.async_pool.use_loop)")
        self._loop = _loop_provider()

    def on_stop(self) -> None:
        with self._lock:
            in_progress = list(self._in_progress)
        concurrent.futures.wait(in_progress, timeout=SHUTDOWN_GRACE_S)
        self._threads.shutdown(cancel_futures=True)
        self._bookkeeping.shutdown()
        super().on_stop()

    def on_apply(  # type: ignore[override] # the stubs say None; Celery keeps the result
        self,
        target: Callable[..., Any],
        args: tuple[Any, ...] | None = None,
        kwargs: dict[str, Any] | None = None,
        callback: Callable[..., Any] | None = None,
        accept_callback: Callable[..., Any] | None = None,
        **_: Any,
    ) -> ApplyResult:
        found = _task_arguments(args) if args and len(args) == 6 else None
        if found is None or self._loop is None:
            return ApplyResult(
                self._threads.submit(apply_target, target, args, kwargs, callback, accept_callback)
            )
        if accept_callback:
            accept_callback(os.getpid(), time.monotonic())
        part, task_args, task_kwargs = found
        future = asyncio.run_coroutine_threadsafe(
            self._run(part(*task_args, **task_kwargs), target, args, kwargs, callback), self._loop
        )
        with self._lock:
            self._in_progress.add(future)
        future.add_done_callback(self._done)
        return ApplyResult(future)

    async def _run(
        self,
        part: Coroutine[Any, Any, Any],
        target: Callable[..., Any],
        args: tuple[Any, ...] | None,
        kwargs: dict[str, Any] | None,
        callback: Callable[..., Any] | None,
    ) -> None:
        try:
            result: tuple[bool, Any] = (True, await part)
        except Exception as exc:  # noqa: BLE001 - handed to the task body, which decides
            result = (False, exc)
        # Celery's tracer and its callbacks (late ack, retry, failure) block on the broker: they
        # run on a bookkeeping thread, never on the loop, which must stay free for the PBXs.
        await asyncio.wrap_future(
            self._bookkeeping.submit(_finish, result, target, args, kwargs, callback)
        )

    def _done(self, future: concurrent.futures.Future[None]) -> None:
        with self._lock:
            self._in_progress.discard(future)
