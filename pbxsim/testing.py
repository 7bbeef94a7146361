"""The simulator in-process, for tests: in a background thread, or on the test's own loop."""

from __future__ import annotations

import asyncio
import ssl
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar

from pbxsim.faults import FaultRule, preset_rules
from pbxsim.fleet import Fleet
from pbxsim.inventory import write_inventory
from pbxsim.server import RunningServer, start_server
from pbxsim.settings import SimSettings

T = TypeVar("T")
START_TIMEOUT_S = 10.0
CALL_TIMEOUT_S = 10.0
FaultSpec = str | Iterable[FaultRule | Mapping[str, Any]]


class ManualClock:
    """A monotonic clock that moves only when told to, so tests expire tokens without sleeping."""

    def __init__(self, start_s: float = 1000.0) -> None:
        self._now_s = start_s
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self._now_s

    def advance(self, seconds: float) -> None:
        """Move the clock forward."""
        with self._lock:
            self._now_s += seconds


class SimulatorAccess:
    """What tests do with a running simulator; subclasses say on which thread state is touched."""

    _server: RunningServer | None = None

    def __init__(
        self,
        settings: SimSettings | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.settings = settings or SimSettings()
        self.fleet = Fleet(self.settings)
        self._host = host
        self._port = port
        self._ssl_context = ssl_context  # serve over TLS with this server context

    def _run(self, action: Callable[[], T]) -> T:
        raise NotImplementedError

    @property
    def server(self) -> RunningServer:
        """The running server (raises before start)."""
        if self._server is None:
            raise RuntimeError("the simulator is not running")
        return self._server

    @property
    def root_url(self) -> str:
        """http://127.0.0.1:PORT."""
        return self.server.root_url

    def base_url(self, alias: str) -> str:
        """A PBX's base URL, e.g. http://127.0.0.1:PORT/pbx-001."""
        return self.server.base_url(alias)

    def aliases(self) -> list[str]:
        """Every PBX alias."""
        return list(self.fleet.pbxs)

    def inventory_rows(self) -> list[dict[str, Any]]:
        """Rows with keys pbx, base_url, client_id, client_secret, max_inflight."""
        return self._run(lambda: self.fleet.inventory_rows(self.root_url))

    def write_inventory(self, path: str | Path) -> None:
        """Write the inventory CSV for this simulator."""
        write_inventory(self.inventory_rows(), path)

    def state(self, alias: str | None = None, include_trunks: bool = True) -> dict[str, Any]:
        """A snapshot of one PBX's state, or of all (see Fleet.state)."""
        return self._run(lambda: self.fleet.state(alias, include_trunks))

    def counters(self, alias: str) -> dict[str, Any]:
        """A snapshot of one PBX's counters."""
        return dict(self.state(alias, include_trunks=False)["counters"])

    def trunks(self, alias: str) -> list[dict[str, Any]]:
        """The trunks stored on one PBX, bodies as received plus their id."""
        return list(self.state(alias)["trunks"])

    def issued_tokens(self, alias: str) -> list[str]:
        """Every access and refresh token the PBX has issued since it started (in-process only:
        the inspection API never serves them)."""
        return self._run(lambda: list(self.fleet.pbxs[alias].tokens.issued))

    def set_faults(self, faults: FaultSpec) -> None:
        """Replace the fault rules: a preset name, or rules (FaultRule or their JSON objects)."""
        rules = _fault_rules(faults)
        self._run(lambda: self.fleet.set_fault_rules(rules))

    def set_secret(self, alias: str, client_secret: str) -> None:
        """Change a PBX's client secret until the next reset."""
        self._run(lambda: self.fleet.set_secret(alias, client_secret))

    def preload_trunks(
        self, alias: str, bodies: Sequence[Mapping[str, Any]], validate: bool = True
    ) -> list[int]:
        """Store trunks on a PBX as if already created; return their ids."""
        copies = [dict(body) for body in bodies]
        return self._run(lambda: self.fleet.preload(alias, copies, validate))

    def unblock(self, alias: str, ip: str | None = None) -> None:
        """Lift one IP's block on a PBX, or all of its blocks."""
        self._run(lambda: self.fleet.unblock(alias, ip))

    def creates_by_name(self, alias: str) -> dict[str, dict[str, Any]]:
        """Every trunk/create one PBX received, per trunk name: {"accepted": n, "refused":
        {errcode or fault kind: n}, "sent_after_accepted": n}."""
        return self._writes_by_name(alias, "creates_by_name")

    def updates_by_name(self, alias: str) -> dict[str, dict[str, Any]]:
        """Every trunk/update one PBX received, per trunk name: {"accepted", "refused"}."""
        return self._writes_by_name(alias, "updates_by_name")

    def deletes_by_name(self, alias: str) -> dict[str, dict[str, Any]]:
        """Every trunk/delete one PBX received, per trunk name: {"accepted", "refused"}."""
        return self._writes_by_name(alias, "deletes_by_name")

    def _writes_by_name(self, alias: str, key: str) -> dict[str, dict[str, Any]]:
        return dict(self.state(alias, include_trunks=False)[key])

    def configure(
        self,
        alias: str,
        max_inflight: int | None = None,
        trunk_quota: int | None = None,
        trunks_in_use: Sequence[str] | None = None,
    ) -> None:
        """Change one PBX's limits, or the trunks whose delete it refuses, until the next reset."""
        names = None if trunks_in_use is None else list(trunks_in_use)
        self._run(lambda: self.fleet.configure(alias, max_inflight, trunk_quota, names))

    def reset(self, alias: str | None = None) -> None:
        """Put one PBX, or all, back to the start state."""
        self._run(lambda: self.fleet.reset(alias))


def _fault_rules(faults: FaultSpec) -> tuple[FaultRule, ...]:
    if isinstance(faults, str):
        return preset_rules(faults)
    return tuple(
        rule if isinstance(rule, FaultRule) else FaultRule.from_json(rule) for rule in faults
    )


class SimulatorThread(SimulatorAccess):
    """The simulator on 127.0.0.1 in a background thread with its own event loop."""

    def __init__(
        self,
        settings: SimSettings | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        super().__init__(settings, host, port, ssl_context)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready = threading.Event()
        self._start_error: OSError | None = None
        self._thread = threading.Thread(target=self._serve, name="pbxsim", daemon=True)

    def start(self) -> Self:
        """Start serving; return once the server listens."""
        self._loop = asyncio.new_event_loop()
        self._thread.start()
        if not self._ready.wait(START_TIMEOUT_S) or self._server is None:
            # Let the thread finish closing its loop first: stop() must not race a closed loop.
            self._thread.join(START_TIMEOUT_S)
            raise RuntimeError("the simulator did not start") from self._start_error
        return self

    def stop(self) -> None:
        """Stop the server and its thread."""
        if self._loop is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(START_TIMEOUT_S)
        self._server = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _exc: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _run(self, action: Callable[[], T]) -> T:
        # State belongs to the server loop: act there, so a snapshot never sees half a request.
        async def on_loop() -> T:
            return action()

        if self._loop is None or not self._thread.is_alive():
            raise RuntimeError("the simulator is not running")
        future = asyncio.run_coroutine_threadsafe(on_loop(), self._loop)
        return future.result(CALL_TIMEOUT_S)

    def _serve(self) -> None:
        loop = self._loop
        assert loop is not None  # noqa: S101  # start() creates it before the thread runs
        asyncio.set_event_loop(loop)
        server: RunningServer | None = None
        try:
            server = loop.run_until_complete(
                start_server(self.fleet, self._host, self._port, ssl_context=self._ssl_context)
            )
        except OSError as exc:
            self._start_error = exc
        finally:
            self._server = server
            self._ready.set()
        if server is not None:
            loop.run_forever()
            loop.run_until_complete(server.stop())
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


class AsyncSimulator(SimulatorAccess):
    """The simulator on the caller's event loop: `async with AsyncSimulator(settings) as sim:`."""

    async def start(self) -> Self:
        """Start serving on the running loop."""
        self._server = await start_server(
            self.fleet, self._host, self._port, ssl_context=self._ssl_context
        )
        return self

    async def stop(self) -> None:
        """Stop serving."""
        if self._server is not None:
            await self._server.stop()
            self._server = None

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(
        self,
        _type: type[BaseException] | None,
        _exc: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def _run(self, action: Callable[[], T]) -> T:
        # Same thread as the server: nothing can interleave with a plain call.
        return action()
