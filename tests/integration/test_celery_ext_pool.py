"""AsyncioPool's contract with Celery, on a real event loop thread.

Celery hands a pool a `target` (its tracer) with the message's (task name, id, request, body,
content type, encoding) and a `callback` for the tracer's result. Here the target is a stand-in
that calls the task body the way Celery's tracer would; the real tracer runs in the end-to-end
tests, which use this pool by default.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from celery_ext import pool as async_pool
from celery_ext.pool import AsyncioPool, async_part, awaited

TASK = "tests.async_pool.double"
PLAIN_TASK = "tests.async_pool.plain"
CALLBACK_WAIT_S = 5.0

started = threading.Event()
release = threading.Event()


@async_part(TASK)
async def _double(number: int, *, wait: bool = False) -> int:
    if wait:
        started.set()
        await asyncio.get_running_loop().run_in_executor(None, release.wait)
    if number < 0:
        raise ValueError("negative")
    await asyncio.sleep(0)
    return number * 2


def _task_body(number: int, *, wait: bool = False) -> tuple[str, int]:
    """What deliver_trunk does: take the awaited result, or compute it here."""
    threads = threading.current_thread().name
    return threads, awaited(lambda: number * 2)


def _tracer(task_name: str, _id: str, _request: dict[str, Any], body: bytes, *_: Any) -> Any:
    try:
        args, kwargs, _embed = json.loads(body)
        return ("ok", _task_body(*args, **kwargs))
    except Exception as exc:  # noqa: BLE001 - the tracer turns exceptions into a result
        return ("error", repr(exc))


def _message(task_name: str, *args: Any, **kwargs: Any) -> tuple[Any, ...]:
    body = json.dumps([list(args), kwargs, {}]).encode()
    return (task_name, "task-id", {}, body, "application/json", "utf-8")


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="test-loop", daemon=True)
    thread.start()
    yield loop
    loop.call_soon_threadsafe(loop.stop)
    thread.join(timeout=5)
    loop.close()


@pytest.fixture
def pool(loop: asyncio.AbstractEventLoop) -> Iterator[AsyncioPool]:
    async_pool.use_loop(lambda _slots: loop)
    pool = AsyncioPool(limit=8)
    pool.start()
    yield pool
    release.set()
    pool.stop()


def _apply(pool: AsyncioPool, message: tuple[Any, ...]) -> Callable[[], Any]:
    """Apply a message; a function that waits for the callback's value."""
    done = threading.Event()
    results: list[Any] = []

    def callback(value: Any) -> None:
        results.append(value)
        done.set()

    pool.apply_async(_tracer, args=message, callback=callback)

    def result() -> Any:
        assert done.wait(CALLBACK_WAIT_S), "the pool never called back"
        return results[0]

    return result


def test_the_async_part_is_awaited_on_the_loop_then_the_body_takes_its_result(
    pool: AsyncioPool,
) -> None:
    status, (thread, value) = _apply(pool, _message(TASK, 21))()
    assert status == "ok"
    assert value == 42
    assert thread.startswith("bookkeeping")  # not the loop: the tracer may block on the broker


def test_the_async_parts_exception_is_raised_in_the_body(pool: AsyncioPool) -> None:
    assert _apply(pool, _message(TASK, -1))() == ("error", "ValueError('negative')")


def test_a_task_without_an_async_part_runs_on_a_thread(pool: AsyncioPool) -> None:
    status, (thread, value) = _apply(pool, _message(PLAIN_TASK, 5))()
    assert (status, value) == ("ok", 10)  # computed by the body itself
    assert not thread.startswith("bookkeeping")


def test_an_unreadable_message_goes_to_the_tracer_unchanged(pool: AsyncioPool) -> None:
    message = (TASK, "task-id", {}, b"not json", "application/json", "utf-8")
    status, error = _apply(pool, message)()
    assert status == "error"  # the tracer (Celery's, in production) reports the bad message
    assert "JSONDecodeError" in error


def test_many_tasks_wait_together_without_a_thread_each(pool: AsyncioPool) -> None:
    started.clear()
    release.clear()
    results = [_apply(pool, _message(TASK, n, wait=True)) for n in range(50)]
    assert started.wait(CALLBACK_WAIT_S)
    threads_while_waiting = threading.active_count()
    release.set()
    assert sorted(result()[1][1] for result in results) == [2 * n for n in range(50)]
    assert threads_while_waiting < 20  # 50 tasks in progress, a handful of threads


def test_stop_waits_for_tasks_in_progress(loop: asyncio.AbstractEventLoop) -> None:
    async_pool.use_loop(lambda _slots: loop)
    pool = AsyncioPool(limit=8)
    pool.start()
    started.clear()
    release.clear()
    result = _apply(pool, _message(TASK, 4, wait=True))
    assert started.wait(CALLBACK_WAIT_S)
    threading.Timer(0.2, release.set).start()
    pool.stop()  # returns once the task has finished, callback included
    assert result() == ("ok", ("bookkeeping", 8))


def test_awaited_outside_the_pool_computes_on_the_calling_thread() -> None:
    assert awaited(lambda: "computed here") == "computed here"
