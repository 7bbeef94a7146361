"""Running the API until a signal, with the page's URL announced in Redis meanwhile."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import signal
from collections.abc import Callable

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from aiohttp.web_request import BaseRequest

from api.announce import RENEW_EVERY_S, Announcement
from api.backend import BACKEND

SHUTDOWN_TIMEOUT_S = 5.0
_access_log = logging.getLogger("trunkctl.api.access")
_log = logging.getLogger("trunkctl.api")


class AccessLogger(AbstractAccessLogger):
    """Method, path, status and time of each request: no query, no header (the token)."""

    def log(self, request: BaseRequest, response: web.StreamResponse, time: float) -> None:
        """Log one answered request."""
        self.logger.info(
            "%s %s %s %.1fms", request.method, request.path, response.status, time * 1000
        )


def is_loopback(host: str) -> bool:
    """Whether `host` names this machine only (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def page_url(host: str, port: int) -> str:
    """The status page's URL, with an address a browser reaches when bound to every
    interface."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return f"http://{host}:{port}/"
    if address.is_unspecified:
        host = "127.0.0.1" if address.version == 4 else "::1"
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


async def _keep_announcing(app: web.Application, announcement: Announcement) -> None:
    api = app[BACKEND]
    while True:
        await asyncio.sleep(RENEW_EVERY_S)
        try:
            await api.call(announcement.renew)
        except Exception as exc:  # noqa: BLE001 - Redis away for a while: try again later
            _log.warning("could not announce the page's URL in Redis: %s", type(exc).__name__)


async def serve_until_signalled(
    app: web.Application, host: str, port: int, on_ready: Callable[[str], None]
) -> None:
    """Serve `app` on host:port (0: a free port) until SIGINT or SIGTERM; `on_ready` gets the
    page's URL once it listens."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    runner = web.AppRunner(
        app, access_log=_access_log, access_log_class=AccessLogger,
        shutdown_timeout=SHUTDOWN_TIMEOUT_S,
    )  # fmt: skip
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
        url = page_url(host, int(runner.addresses[0][1]))
        announcement = Announcement(app[BACKEND].store.client, url)
        await app[BACKEND].call(announcement.renew)  # before the ready line: it can be read
        announcing = asyncio.create_task(_keep_announcing(app, announcement))
        on_ready(url)
        await stop.wait()
        announcing.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await announcing
        with contextlib.suppress(Exception):
            await app[BACKEND].call(announcement.withdraw)
    finally:
        await runner.cleanup()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
