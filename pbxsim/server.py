"""Running the simulator's aiohttp server: start, stop, and serve until a signal."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import signal
import ssl
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from aiohttp.web_request import BaseRequest

from pbxsim.app import make_app
from pbxsim.fleet import Fleet
from pbxsim.settings import pbx_alias

# In-flight requests get this long to finish when the server stops; slow faults may outlast it.
SHUTDOWN_TIMEOUT_S = 1.0
_log = logging.getLogger("pbxsim.access")


class RedactedAccessLogger(AbstractAccessLogger):
    """Logs method, path and status only: the query string carries access tokens."""

    def log(self, request: BaseRequest, response: web.StreamResponse, time: float) -> None:
        """Log one answered request without its query string."""
        self.logger.info(
            "%s %s %s %.1fms", request.method, request.path, response.status, time * 1000
        )


@dataclass
class RunningServer:
    """A started simulator server and where it listens."""

    fleet: Fleet
    runner: web.AppRunner
    host: str
    port: int
    tls: bool = False

    @property
    def root_url(self) -> str:
        """http(s)://host:port, with an address clients can reach when bound to all
        interfaces."""
        scheme = "https" if self.tls else "http"
        return f"{scheme}://{_reachable_host(self.host)}:{self.port}"

    def base_url(self, alias: str) -> str:
        """The base URL of one PBX (the path prefix included)."""
        return f"{self.root_url}/{self.fleet.pbx(alias).alias}"

    async def stop(self) -> None:
        """Stop listening and close every connection."""
        await self.runner.cleanup()


async def start_server(
    fleet: Fleet,
    host: str = "127.0.0.1",
    port: int = 0,
    access_log: bool = False,
    ssl_context: ssl.SSLContext | None = None,
) -> RunningServer:
    """Start serving the fleet on host:port (0: a free port) on the running loop; over TLS with
    `ssl_context` (a server context holding the PBXs' certificate)."""
    runner = web.AppRunner(
        make_app(fleet),
        access_log=_log if access_log else None,
        access_log_class=RedactedAccessLogger,
        shutdown_timeout=SHUTDOWN_TIMEOUT_S,
    )
    await runner.setup()
    site = web.TCPSite(runner, host, port, backlog=1024, ssl_context=ssl_context)
    try:
        await site.start()
    except OSError:
        await runner.cleanup()
        raise
    bound_port = int(runner.addresses[0][1])
    return RunningServer(fleet, runner, host, bound_port, tls=ssl_context is not None)


async def serve_until_signalled(
    fleet: Fleet,
    host: str,
    port: int,
    on_ready: Callable[[RunningServer], None],
    access_log: bool = False,
) -> None:
    """Serve until SIGINT or SIGTERM, calling on_ready once the server listens."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    server = await start_server(fleet, host, port, access_log)
    try:
        on_ready(server)
        await stop.wait()
    finally:
        await server.stop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)


def _reachable_host(host: str) -> str:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if address.is_unspecified:
        return "127.0.0.1" if address.version == 4 else "[::1]"
    return f"[{host}]" if address.version == 6 else host


def ready_line(server: RunningServer) -> str:
    """The one line printed when the simulator serves."""
    count = len(server.fleet.pbxs)
    first = f"{server.root_url}/{pbx_alias(1)}"
    span = f"{first} .. /{pbx_alias(count)}" if count > 1 else first
    noun = "PBXs" if count > 1 else "PBX"
    return f"pbxsim: serving {count} {noun} at {span} (inspect: {server.root_url}/_sim/state)"
