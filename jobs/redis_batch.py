"""Redis calls made in one turn of the event loop, sent to Redis as one pipeline.

Tasks start and PBXs answer in bursts, so many calls are due in the same turn: together they share
one connection and one round trip, instead of a connection each. Each caller still gets its own
result or exception. Scripts go out as EVALSHA (redis-py's Script asks SCRIPT EXISTS before every
pipeline); one Redis does not know yet is loaded once and its calls sent again.
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
    args: tuple[Any, ...]  # the command and its arguments (for a script: EVALSHA's)
    script: AsyncScript | None
    result: asyncio.Future[Any]


class RedisBatcher:
    """Sends Redis commands and Lua scripts for many coroutines, one pipeline per loop turn."""

    def __init__(self, redis: aioredis.Redis) -> None:
        self._redis = redis
        self._pending: list[_Call] = []
        self._tasks: set[asyncio.Task[None]] = set()

    async def command(self, *args: Any) -> Any:
        """The command's reply (parsed as redis-py parses it), sent with the calls of this turn."""
        return await self._queue(args, None)

    async def script(self, script: AsyncScript, keys: list[Any], args: list[Any]) -> Any:
        """The script's result (or its error), sent with the calls of this turn."""
        return await self._queue(("EVALSHA", script.sha, len(keys), *keys, *args), script)

    async def _queue(self, args: tuple[Any, ...], script: AsyncScript | None) -> Any:
        loop = asyncio.get_running_loop()
        call = _Call(args, script, loop.create_future())
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
            results = await self._execute(calls)
            unknown = [n for n, result in enumerate(results) if isinstance(result, NoScriptError)]
            if unknown:
                # Not loaded yet (a new, restarted or flushed Redis): load each script once, then
                # send those calls again, together.
                scripts = {id(calls[n].script): calls[n].script for n in unknown}
                for script in scripts.values():
                    if script is not None:
                        await self._redis.script_load(script.script)
                again = await self._execute([calls[n] for n in unknown])
                for n, result in zip(unknown, again, strict=True):
                    results[n] = result
        except Exception as exc:  # noqa: BLE001 - every caller of this pipeline gets the error
            results = [exc] * len(calls)
        for call, result in zip(calls, results, strict=True):
            if call.result.done():
                continue  # the caller gave up (cancelled)
            if isinstance(result, Exception):
                call.result.set_exception(result)
            else:
                call.result.set_result(result)

    async def _execute(self, calls: list[_Call]) -> list[Any]:
        async with self._redis.pipeline(transaction=False) as pipe:
            for call in calls:
                pipe.execute_command(*call.args)
            return await pipe.execute(raise_on_error=False)
