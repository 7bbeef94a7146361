"""The aiohttp application: one catch-all route serves every PBX, found by its path prefix."""

from __future__ import annotations

import asyncio

from aiohttp import web

from pbxsim import endpoints
from pbxsim.call import ApiCall
from pbxsim.errcodes import (
    ACCOUNT_IP_BLOCKED,
    INTERFACE_NOT_EXISTED,
    INTERNAL_SERVER_ERROR,
    OPERATION_FAILED,
    OVERLOAD_TASK_RUNNING,
    PARAMETER_ERROR,
    TOKEN_EXPIRED,
    Answer,
    answer,
)
from pbxsim.faults import FaultRule
from pbxsim.fleet import Fleet
from pbxsim.inspection import add_inspection_routes
from pbxsim.pbx import Pbx
from pbxsim.write_log import subject_of

API_PATH = "openapi/v1.0"
FLEET_KEY = web.AppKey("fleet", Fleet)
# 70004 carries when the block ends; blocks here last until lifted through the inspection API.
BLOCK_UNTIL_LIFTED = 0
# An answer, and what it was: the errcode as text, or the fault's kind when it is no API answer.
Served = tuple[web.StreamResponse, str]
_FAULT_ERRCODES = {
    "errcode-2": INTERNAL_SERVER_ERROR,
    "token_expired": TOKEN_EXPIRED,
    # What a cloud PBX answers on trunk/create when the API client lacks the permission.
    "access_denied": OPERATION_FAILED,
}
# How often a hung call looks whether its rule was lifted, or its client has gone.
HANG_POLL_S = 0.05


def make_app(fleet: Fleet) -> web.Application:
    """The simulator's application: the inspection routes, then one route for all PBXs."""
    app = web.Application()
    app[FLEET_KEY] = fleet
    add_inspection_routes(app.router, fleet)
    app.router.add_route("*", "/{pbx}/" + API_PATH + "/{endpoint:.+}", handle_api)
    return app


async def handle_api(request: web.Request) -> web.StreamResponse:
    """Serve one API request to one PBX; a trunk write is counted under its trunk's name."""
    fleet = request.app[FLEET_KEY]
    pbx = fleet.pbxs.get(request.match_info["pbx"])
    if pbx is None:
        raise web.HTTPNotFound
    name = request.match_info["endpoint"]
    pbx.counters.count_request(name)
    raw_body = await request.read() if request.method == "POST" else b""
    call = ApiCall(pbx, request.query, raw_body, request.remote or "")
    # Read before handling: a delete takes the trunk (and its name) away.
    subject = subject_of(name, call)
    response, outcome = await _answer(fleet, call, name, request)
    if subject is not None:
        pbx.writes.note(name, subject, outcome)
    return response


async def _answer(fleet: Fleet, call: ApiCall, name: str, request: web.Request) -> Served:
    """The answer, holding one of the PBX's in-flight slots throughout."""
    pbx = call.pbx
    hang = pbx.faults.hang_rule(name)
    if hang is not None:
        pbx.counters.faults_injected += 1
        return await _hang(pbx, hang, request), "hang"
    if not pbx.counters.enter(pbx.max_inflight):
        return _json(fleet, answer(OVERLOAD_TASK_RUNNING))
    try:
        latency_s = fleet.latency_s()
        if latency_s > 0:
            await asyncio.sleep(latency_s)
        return await _serve(fleet, call, name, request)
    finally:
        pbx.counters.leave()


async def _serve(fleet: Fleet, call: ApiCall, name: str, request: web.Request) -> Served:
    pbx = call.pbx
    refusal = _refusal(pbx, request)
    if refusal is not None:
        return _json(fleet, refusal)
    endpoint = endpoints.resolve(name, request.method)
    if endpoint is None:
        return _json(fleet, answer(INTERFACE_NOT_EXISTED))
    fault = pbx.faults.next_call(name)
    if fault is not None:
        pbx.counters.faults_injected += 1
        early = await _fault_before_handling(fleet, fault, request)
        if early is not None:
            return early
    response, outcome = _json(fleet, endpoints.run(endpoint, call))
    if fault is not None and fault.kind == "drop_after":
        _drop_connection(request)
    if fault is not None and fault.kind == "garbled_after":
        # Handled, then an answer that is not the API's (a proxy's or a web page's).
        response = web.Response(text="<html><body>OK</body></html>", content_type="text/html")
        response.force_close()
    return response, outcome


def _refusal(pbx: Pbx, request: web.Request) -> Answer | None:
    if not request.headers.get("User-Agent"):
        return answer(PARAMETER_ERROR)
    if pbx.logins.is_blocked(request.remote or ""):
        pbx.counters.blocked_calls += 1
        return answer(ACCOUNT_IP_BLOCKED, block_expire_time=BLOCK_UNTIL_LIFTED)
    return None


async def _fault_before_handling(
    fleet: Fleet, fault: FaultRule, request: web.Request
) -> Served | None:
    """The answer a fault gives instead of handling the call, or None to handle it."""
    errcode = fault.errcode if fault.kind == "errcode" else _FAULT_ERRCODES.get(fault.kind)
    if errcode is not None:
        return _json(fleet, answer(errcode))
    if fault.kind == "http503":
        # What a proxy in front of a struggling PBX answers: not JSON.
        page = web.Response(status=503, text="503 Service Unavailable", content_type="text/html")
        return page, fault.kind
    if fault.kind == "drop_before":
        return _drop_connection(request), fault.kind
    if fault.kind == "slow":
        await asyncio.sleep(fault.slow_ms / 1000)
    return None


async def _hang(pbx: Pbx, rule: FaultRule, request: web.Request) -> web.StreamResponse:
    """A PBX that accepts connections and answers nothing, while the rule is set: the client's
    timeout ends the call. It holds none of the PBX's in-flight slots (nothing is processed)."""
    while rule in pbx.faults.rules and request.transport is not None:
        if request.transport.is_closing():  # the client gave up
            break
        await asyncio.sleep(HANG_POLL_S)
    return _drop_connection(request)


def _drop_connection(request: web.Request) -> web.StreamResponse:
    # Aborting the transport makes the client see a disconnect and never an answer.
    if request.transport is not None:
        request.transport.abort()
    return web.Response()


def _json(fleet: Fleet, body: Answer) -> Served:
    """The JSON answer, and its errcode as the outcome a write is counted under."""
    response = web.json_response(body)
    if fleet.settings.close_connections:
        response.force_close()
    return response, str(body["errcode"])
