"""The API's endpoints: their HTTP method, whether they need a token, and their handler."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pbxsim import token_api, trunk_api
from pbxsim.call import ApiCall, ParamError
from pbxsim.errcodes import TOKEN_EXPIRED, Answer, answer, param_error

Handler = Callable[[ApiCall], Answer]


@dataclass(frozen=True)
class Endpoint:
    """One API endpoint; GET reads and deletes, POST creates and updates."""

    method: str
    handler: Handler
    needs_token: bool = True


ENDPOINTS: dict[str, Endpoint] = {
    "get_token": Endpoint("POST", token_api.get_token, needs_token=False),
    "refresh_token": Endpoint("POST", token_api.refresh_token, needs_token=False),
    # del_token checks the token it revokes itself.
    "del_token": Endpoint("GET", token_api.del_token, needs_token=False),
    "trunk/create": Endpoint("POST", trunk_api.create),
    "trunk/update": Endpoint("POST", trunk_api.update),
    "trunk/list": Endpoint("GET", trunk_api.list_trunks),
    "trunk/search": Endpoint("GET", trunk_api.search),
    "trunk/get": Endpoint("GET", trunk_api.get),
    "trunk/query": Endpoint("GET", trunk_api.query),
    "trunk/delete": Endpoint("GET", trunk_api.delete),
    "trunk/itsp_list": Endpoint("GET", trunk_api.itsp_list),
}


def resolve(name: str, method: str) -> Endpoint | None:
    """The endpoint for this name and method; None answers INTERFACE NOT EXISTED."""
    endpoint = ENDPOINTS.get(name)
    if endpoint is None or endpoint.method != method:
        return None
    return endpoint


def run(endpoint: Endpoint, call: ApiCall) -> Answer:
    """Check the call's token when the endpoint needs one, then run its handler."""
    if endpoint.needs_token and not call.pbx.tokens.is_valid(call.query.get("access_token", "")):
        call.pbx.counters.tokens_refused += 1
        return answer(TOKEN_EXPIRED)
    try:
        return endpoint.handler(call)
    except ParamError as exc:
        return param_error([exc.problem])
