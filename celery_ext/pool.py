"""A Celery execution pool that awaits each task's I/O on the process's event loop.

Celery's threads pool parks a thread per task while its PBX answers, and those threads take the
GIL from the consumer. This pool uses none per task; it carries out a task in two steps:
1. the task's *async part* (registered with `async_part`), awaited on the worker's event loop;
2. Celery's own tracer, as any pool calls it, on one bookkeeping thread (it blocks on the broker,
   the loop must not); the task body picks up step 1's result with `awaited()`. Late acks,
   retries and failures behave as under any other pool.
A task without an async part (or whose message cannot be read here) goes to a few threads.

Private names relied on (Celery 5.7): the arguments Celery's consumer passes `on_apply` to start a
task, `(task_name, task_id, request, body, content_type, content_encoding)` (celery.app.trace's
`trace_task_ret`), `BasePool` (`on_start`, `on_stop`, `on_apply`, `terminate_job`, `limit`,
`body_can_be_buffer`, `signal_safe`) and `celery.concurrency.base.apply_target`. The stock path
(TRUNKCTL_STOCK_CELERY) runs Celery's threads pool instead.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import itertools
import logging
import queue
import threading
import time
from collections.abc import Callable, Coroutine
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar

from celery.concurrency.base import BasePool, apply_target
from kombu.serialization import loads

log = logging.getLogger(__name__)
T = TypeVar("T")
AsyncPart = Callable[..., Coroutine[Any, Any, Any]]
# Given the pool's task slots (Celery's concurrency, `-c` included), the process's event loop.
LoopProvider = Callable[[int], asyncio.AbstractEventLoop]

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
    """Tell the pool where its event loop comes from (called once, when the worker starts): the
    provider gets the pool's number of task slots, which the loop's objects size themselves by."""
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
    return value  # type: ignore[no-any-return] # what the task's async part returned


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


@dataclass(slots=True, eq=False)
class _Job:
    """One task in the pool: its async part and arguments, and what Celery gave to finish it."""

    part: AsyncPart
    task_args: list[Any]
    task_kwargs: dict[str, Any]
    target: Callable[..., Any]
    args: tuple[Any, ...] | None
    kwargs: dict[str, Any] | None
    callback: Callable[..., Any] | None
    number: int = 0  # what Celery knows the task by in this pool (its "pid"; see terminate_job)
    finished: bool = False
    task: asyncio.Task[None] | None = None


class ApplyResult:
    """What `on_apply` returns (Celery keeps a weak reference; it never waits on it itself)."""

    def __init__(
        self, job: _Job | None = None, future: concurrent.futures.Future[None] | None = None
    ):
        self._job = job
        self._future = future

    def ready(self) -> bool:
        """Whether the task has finished, callbacks included."""
        return self._job.finished if self._job else bool(self._future and self._future.done())

    def wait(self, timeout: float | None = None) -> None:
        """Wait for the task to finish (polling: nothing in the worker's path waits on this)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.ready() and (deadline is None or time.monotonic() < deadline):
            time.sleep(0.01)

    def get(self, timeout: float | None = None) -> None:
        """Like wait."""
        self.wait(timeout)

    def terminate(self, _signal: int | None = None) -> None:
        """Celery calls this beside the pool's terminate_job, which does the work."""


class AsyncioPool(BasePool):
    """Runs tasks' async parts on the worker's event loop; see the module's doc."""

    body_can_be_buffer = True
    signal_safe = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._threads = concurrent.futures.ThreadPoolExecutor(max_workers=FALLBACK_THREADS)
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._pending = 0  # tasks applied and not finished yet
        # Tasks cross to the loop in bursts: one wake-up of the loop per burst, not per task.
        self._incoming: list[_Job] = []
        self._wake_scheduled = False
        self._running: set[asyncio.Task[None]] = set()
        # Tasks whose async part is done, for the bookkeeping thread to finish.
        self._finishing: queue.SimpleQueue[tuple[_Job, tuple[bool, Any]] | None] = (
            queue.SimpleQueue()
        )
        self._bookkeeping = threading.Thread(
            target=self._finish_all, name="bookkeeping", daemon=True
        )
        self._loop: asyncio.AbstractEventLoop | None = None
        self._numbers = itertools.count(1)
        self._jobs: dict[int, _Job] = {}  # by number, while their async part runs

    def on_start(self) -> None:
        if _loop_provider is None:
            raise RuntimeError("AsyncioPool: no event loop registered (worker.async_pool.use_loop)")
        self._loop = _loop_provider(self.limit or 1)
        self._bookkeeping.start()

    def on_stop(self) -> None:
        with self._idle:
            self._idle.wait_for(lambda: not self._pending, timeout=SHUTDOWN_GRACE_S)
        self._finishing.put(None)
        self._threads.shutdown(cancel_futures=True)
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
        loop = self._loop
        if found is None or loop is None:
            future = self._threads.submit(
                apply_target, target, args, kwargs, callback, accept_callback
            )
            return ApplyResult(future=future)
        job = _Job(*found, target, args, kwargs, callback, number=next(self._numbers))
        if accept_callback:
            # The job's number stands for a process id (as the gevent pool's greenlets do):
            # Celery hands it back to terminate_job to cancel this task.
            accept_callback(job.number, time.monotonic())
        with self._lock:
            self._pending += 1
            self._jobs[job.number] = job
            self._incoming.append(job)
            wake = not self._wake_scheduled
            self._wake_scheduled = True
        if wake:
            loop.call_soon_threadsafe(self._start_incoming)
        return ApplyResult(job)

    def _start_incoming(self) -> None:
        """On the loop: start every task applied since the last call."""
        with self._lock:
            jobs, self._incoming = self._incoming, []
            self._wake_scheduled = False
        for job in jobs:
            task = asyncio.ensure_future(self._run(job), loop=self._loop)
            job.task = task
            self._running.add(task)  # the loop keeps only weak references to its tasks
            task.add_done_callback(self._running.discard)

    def terminate_job(self, pid: int, signal: int | None = None) -> None:  # noqa: ARG002
        """Cancel a task in progress (a cold shutdown, a lost broker connection): it lets its item
        and slot go as it unwinds, and its unacknowledged message is handed out again."""
        with self._lock:
            job = self._jobs.get(pid)
        if job is not None and self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._cancel, job)

    def _cancel(self, job: _Job) -> None:
        if job.task is not None:
            job.task.cancel()
        else:  # not started yet: it never will be
            with self._lock:
                if job in self._incoming:
                    self._incoming.remove(job)
                    self._forget(job)

    def _forget(self, job: _Job) -> None:
        """Under the lock: the job will not be finished (cancelled)."""
        self._jobs.pop(job.number, None)
        job.finished = True
        self._pending -= 1
        if not self._pending:
            self._idle.notify_all()

    async def _run(self, job: _Job) -> None:
        try:
            result: tuple[bool, Any] = (True, await job.part(*job.task_args, **job.task_kwargs))
        except asyncio.CancelledError:
            with self._lock:
                self._forget(job)
            raise
        except Exception as exc:  # noqa: BLE001 - handed to the task body, which decides
            result = (False, exc)
        with self._lock:
            self._jobs.pop(job.number, None)
        # Celery's tracer and callbacks block on the broker: the bookkeeping thread, not the loop.
        self._finishing.put((job, result))

    def _finish_all(self) -> None:
        """The bookkeeping thread: finish tasks in the order their async parts ended."""
        while (item := self._finishing.get()) is not None:
            job, result = item
            token = _awaited.set(result)
            try:
                apply_target(job.target, job.args, job.kwargs, job.callback)
            except Exception as exc:  # noqa: BLE001 - a callback failed; the rest must still run
                # No traceback: its frames' text is not ours to vouch for (secrets).
                log.error("task bookkeeping failed: %s", type(exc).__name__)  # noqa: TRY400
            finally:
                _awaited.reset(token)
                job.finished = True
                with self._idle:
                    self._pending -= 1
                    if not self._pending:
                        self._idle.notify_all()
