"""Lua script calls made in one turn of the event loop, sent to Redis as one pipeline.

A worker starts tasks in bursts (kombu hands it several messages at once) and PBX answers arrive
in bursts too, so many item claims and transitions are due in the same turn of the loop. Sent one
by one, each pays redis-py's whole per-command path (a pooled connection, a send, a read, a future);
sent together, they share one. Each caller still gets its own result or its own exception.

Scripts go out as EVALSHA (not through redis-py's Script in a pipeline, which asks SCRIPT EXISTS
before every pipeline); a script Redis does not know yet is loaded once and the call sent again.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from redis.commands.core import AsyncScript
from redis.exceptions import NoScriptError


@dataclass(slots=True)
class _Call:
    script: AsyncScript
    keys: list[Any]
    args: list[Any]
    result: asyncio.Future[Any]


class ScriptBatcher:
    """Runs Lua scripts for many coroutines, one pipeline per turn of the event loop."""

    def __init__(self, redis: aioredis.Redis) -> None:
        self._redis = redis
        self._pending: list[_Call] = []
        self._tasks: set[asyncio.Task[None]] = set()

    async def run(self, script: AsyncScript, keys: list[Any], args: list[Any]) -> Any:
        """The script's result (or its error), sent along with the calls of this turn."""
        loop = asyncio.get_running_loop()
        call = _Call(script, keys, args, loop.create_future())
        self._pending.append(call)
        if len(self._pending) == 1:
            loop.call_soon(self._send_pending)
        return await call.result

    def _send_pending(self) -> None:
        calls, self._pending = self._pending, []
        task = asyncio.ensure_future(self._send(calls))
        self._tasks.add(task)  # the loop keeps only weak references to its tasks
        task.add_done_callback(self._tasks.discard)

    async def _send(self, calls: list[_Call]) -> None:
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for call in calls:
                    pipe.evalsha(call.script.sha, len(call.keys), *call.keys, *call.args)
                results = await pipe.execute(raise_on_error=False)
        except Exception as exc:  # noqa: BLE001 - every caller of this pipeline gets the error
            for call in calls:
                _settle(call, error=exc)
            return
        for call, result in zip(calls, results, strict=True):
            if isinstance(result, NoScriptError):
                # Not loaded yet (a new or restarted Redis): redis-py's Script loads it and retries.
                try:
                    _settle(call, await call.script(keys=call.keys, args=call.args))
                except Exception as exc:  # noqa: BLE001 - handed to the caller
                    _settle(call, error=exc)
            elif isinstance(result, Exception):
                _settle(call, error=result)
            else:
                _settle(call, result)


def _settle(call: _Call, value: Any = None, error: BaseException | None = None) -> None:
    if call.result.done():
        return  # the caller gave up (cancelled)
    if error is not None:
        call.result.set_exception(error)
    else:
        call.result.set_result(value)
