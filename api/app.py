"""The aiohttp application: routes, the bearer token, errors as JSON, headers for the browser."""

from __future__ import annotations

import asyncio
import hmac
import logging
import traceback
from collections.abc import Awaitable, Callable

from aiohttp import web
from redis.exceptions import RedisError

from api import jobs_api, pages
from api.backend import BACKEND, ApiConfig, Backend, answer, backend
from api.errors import ApiError, UnauthorizedError
from api.models import ErrorAnswer, HealthAnswer
from api.openapi import openapi_document
from core.errors import TrunkctlError, UsageError
from jobs.queue import TaskQueue
from jobs.store import JobStore

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
OPENAPI_PATH = "/api/openapi.json"
HEALTH_TIMEOUT_S = 5.0
# The page loads nothing from another host, runs no inline script and cannot be framed.
PAGE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
_log = logging.getLogger("trunkctl.api")


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    response = answer(ErrorAnswer, {"error": message}, status=status)
    response.headers.update(headers or {})
    return response


def _needs_token(request: web.Request) -> bool:
    path = request.path
    return (path == "/api" or path.startswith("/api/")) and path != OPENAPI_PATH


def _bearer_token(request: web.Request) -> bytes | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip().encode() if scheme.lower() == "bearer" and token.strip() else None


@web.middleware
async def bearer_token(request: web.Request, handler: Handler) -> web.StreamResponse:
    """401 for an /api request without the server's token (compared in constant time)."""
    expected = backend(request).config.token
    if expected is not None and _needs_token(request):
        given = _bearer_token(request)
        if given is None:
            raise UnauthorizedError("a bearer token is required: Authorization: Bearer <token>")
        if not hmac.compare_digest(given, expected.encode()):
            raise UnauthorizedError("the bearer token is wrong")
    return await handler(request)


def _known_error(exc: Exception) -> web.Response | None:
    """The answer to an error raised on purpose (its message is safe to show), else None."""
    if isinstance(exc, ApiError):
        challenge = {"WWW-Authenticate": "Bearer"} if isinstance(exc, UnauthorizedError) else {}
        return _error(exc.status, str(exc), challenge)
    if isinstance(exc, UsageError):
        return _error(400, str(exc))
    if isinstance(exc, RedisError):  # its message names host and port, never a password
        return _error(503, f"Redis failed: {exc}")
    if isinstance(exc, TrunkctlError):
        return _error(500, str(exc))
    if isinstance(exc, web.HTTPException):  # no such route, method not allowed
        allowed = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else {}
        return _error(exc.status, exc.reason, allowed)
    return None


@web.middleware
async def errors_as_json(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every error of an /api route (and /healthz) as `{"error": ...}`; an unexpected one keeps
    its message to itself (it may hold anything): only its place in the code is logged."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if request.path.startswith("/api/"):
            return _known_error(exc) or _error(500, "internal error")
        raise
    except Exception as exc:  # noqa: BLE001 - the last resort: a 500, and the code's place
        known = _known_error(exc)
        if known is not None:
            return known
        where = "".join(traceback.format_tb(exc.__traceback__))
        _log.error("%s %s failed: %s\n%s", request.method, request.path, type(exc).__name__, where)
        return _error(500, "internal error (see the server's log)")


async def _secure_headers(request: web.Request, response: web.StreamResponse) -> None:
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers.setdefault("Content-Security-Policy", PAGE_POLICY)
    if request.path.startswith("/api/"):
        response.headers.setdefault("Cache-Control", "no-store")


async def health(request: web.Request) -> web.Response:
    """GET /healthz: 200 while Redis answers, 503 otherwise."""
    api = backend(request)
    try:
        ok = bool(await asyncio.wait_for(api.call(api.store.client.ping), HEALTH_TIMEOUT_S))
    except (RedisError, TimeoutError):
        ok = False
    return answer(HealthAnswer, {"ok": ok}, status=200 if ok else 503)


def create_app(store: JobStore, queue: TaskQueue, config: ApiConfig) -> web.Application:
    """The API and the status page, acting on this job store and queue."""
    app = web.Application(middlewares=[errors_as_json, bearer_token])
    api = Backend(store, queue, config)
    app[BACKEND] = api
    document = openapi_document(config.version)
    app.router.add_get(OPENAPI_PATH, lambda _request: _json_document(document))
    app.router.add_get("/healthz", health)
    jobs_api.add_routes(app)
    pages.add_routes(app, config)
    app.on_response_prepare.append(_secure_headers)

    async def stop_threads(_app: web.Application) -> None:
        api.executor.shutdown(wait=False, cancel_futures=True)

    app.on_cleanup.append(stop_threads)
    return app


async def _json_document(document: dict[str, object]) -> web.Response:
    return web.json_response(document)
