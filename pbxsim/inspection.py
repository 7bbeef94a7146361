"""The inspection API under /_sim/: read PBX state, reset, set faults, secrets, limits, trunks."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from pbxsim.errors import SimInputError, UnknownPbxError
from pbxsim.faults import FaultRule, preset_rules
from pbxsim.fleet import Fleet

INSPECTION_PREFIX = "/_sim"
Route = Callable[[web.Request], Awaitable[Any]]


def add_inspection_routes(router: web.UrlDispatcher, fleet: Fleet) -> None:
    """Register every inspection route, answering for this fleet."""
    api = InspectionApi(fleet)
    routes: list[tuple[str, str, Route]] = [
        ("GET", "/state", api.get_state),
        ("POST", "/reset", api.post_reset),
        ("GET", "/faults", api.get_faults),
        ("POST", "/faults", api.post_faults),
        ("GET", "/pbx/{pbx}", api.get_pbx),
        ("POST", "/pbx/{pbx}/reset", api.post_pbx_reset),
        ("POST", "/pbx/{pbx}/secret", api.post_secret),
        ("POST", "/pbx/{pbx}/trunks", api.post_trunks),
        ("POST", "/pbx/{pbx}/unblock", api.post_unblock),
        ("POST", "/pbx/{pbx}/settings", api.post_settings),
    ]
    for method, path, route in routes:
        router.add_route(method, INSPECTION_PREFIX + path, _guarded(route))


def _guarded(route: Route) -> Callable[[web.Request], Awaitable[web.Response]]:
    """Answer a route's result as JSON; its input errors as 400 and unknown PBXs as 404."""

    async def handler(request: web.Request) -> web.Response:
        try:
            return web.json_response(await route(request))
        except UnknownPbxError as exc:
            return web.json_response({"error": str(exc)}, status=404)
        except SimInputError as exc:
            return web.json_response({"error": str(exc)}, status=400)

    return handler


async def _json_object(request: web.Request) -> dict[str, Any]:
    raw = await request.read()
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        raise SimInputError("the body must be a JSON object") from None
    if not isinstance(data, dict):
        raise SimInputError("the body must be a JSON object")
    return data


def _optional_int(data: dict[str, Any], key: str) -> int | None:
    value = data.get(key)
    if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
        raise SimInputError(f"{key} must be an integer")
    return value


class InspectionApi:
    """The inspection routes of one fleet; they run on the server loop like the API."""

    def __init__(self, fleet: Fleet) -> None:
        self.fleet = fleet

    async def get_state(self, request: web.Request) -> dict[str, Any]:
        """Every PBX's state; ?trunks=0 leaves the trunk bodies out."""
        return self.fleet.state(include_trunks=request.query.get("trunks") != "0")

    async def get_pbx(self, request: web.Request) -> dict[str, Any]:
        """One PBX's state: counters, limits, faults and trunks."""
        return self.fleet.state(request.match_info["pbx"])

    async def post_reset(self, request: web.Request) -> dict[str, Any]:
        """Reset every PBX, or the one named by {"pbx": alias}."""
        alias = (await _json_object(request)).get("pbx")
        if alias is not None and not isinstance(alias, str):
            raise SimInputError("pbx must be a PBX alias")
        return {"ok": True, "reset": self.fleet.reset(alias)}

    async def post_pbx_reset(self, request: web.Request) -> dict[str, Any]:
        """Reset one PBX."""
        return {"ok": True, "reset": self.fleet.reset(request.match_info["pbx"])}

    async def get_faults(self, _request: web.Request) -> dict[str, Any]:
        """The fault rules last set for the fleet."""
        return {"rules": [rule.to_json() for rule in self.fleet.fault_rules]}

    async def post_faults(self, request: web.Request) -> dict[str, Any]:
        """Replace the fault rules: {"preset": name} or {"rules": [rule, ...]}."""
        data = await _json_object(request)
        if "preset" in data:
            rules = preset_rules(str(data["preset"]))
        elif isinstance(data.get("rules"), list):
            rules = tuple(FaultRule.from_json(_rule_object(rule)) for rule in data["rules"])
        else:
            raise SimInputError('give {"preset": name} or {"rules": [...]}')
        self.fleet.set_fault_rules(rules)
        return {"ok": True, "rules": [rule.to_json() for rule in rules]}

    async def post_secret(self, request: web.Request) -> dict[str, Any]:
        """Change one PBX's client secret: {"client_secret": "..."}."""
        secret = (await _json_object(request)).get("client_secret")
        if not isinstance(secret, str):
            raise SimInputError("client_secret must be a string")
        self.fleet.set_secret(request.match_info["pbx"], secret)
        return {"ok": True}

    async def post_trunks(self, request: web.Request) -> dict[str, Any]:
        """Pre-load trunks: {"trunks": [body, ...], "validate": true}."""
        data = await _json_object(request)
        bodies = data.get("trunks")
        if not isinstance(bodies, list):
            raise SimInputError("trunks must be a list of trunk bodies")
        validate = data.get("validate", True) is not False
        ids = self.fleet.preload(request.match_info["pbx"], bodies, validate=validate)
        return {"ok": True, "ids": ids}

    async def post_unblock(self, request: web.Request) -> dict[str, Any]:
        """Lift one IP's block, {"ip": "..."}, or every block when no ip is given."""
        ip = (await _json_object(request)).get("ip")
        if ip is not None and not isinstance(ip, str):
            raise SimInputError("ip must be a string")
        self.fleet.unblock(request.match_info["pbx"], ip)
        return {"ok": True}

    async def post_settings(self, request: web.Request) -> dict[str, Any]:
        """Change one PBX's limits: {"max_inflight": n, "trunk_quota": n (0: none),
        "trunks_in_use": [name, ...] (their delete is refused)}."""
        data = await _json_object(request)
        alias = request.match_info["pbx"]
        in_use = data.get("trunks_in_use")
        if in_use is not None and not isinstance(in_use, list):
            raise SimInputError("trunks_in_use must be a list of trunk names")
        self.fleet.configure(
            alias, _optional_int(data, "max_inflight"), _optional_int(data, "trunk_quota"), in_use
        )
        return {"ok": True, "pbx": alias, "max_inflight": self.fleet.pbx(alias).max_inflight}


def _rule_object(rule: Any) -> dict[str, Any]:
    if not isinstance(rule, dict):
        raise SimInputError("each fault rule must be a JSON object")
    return rule
