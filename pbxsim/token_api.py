"""The token endpoints: get_token, refresh_token, del_token."""

from __future__ import annotations

from pbxsim.call import ApiCall, ParamError
from pbxsim.errcodes import (
    FAILURE,
    MAX_LIMITATION_EXCEEDED,
    PARAMETER_SYNTAX_ERROR,
    TOKEN_EXPIRED,
    Answer,
    answer,
    success,
)
from pbxsim.tokens import Grant, TokenStore


def get_token(call: ApiCall) -> Answer:
    """Issue a token pair for the right client id and secret; count and guard failures."""
    body = call.json_object()
    if body is None:
        return answer(PARAMETER_SYNTAX_ERROR)
    client_id = _body_str(body, "username")
    client_secret = _body_str(body, "password")
    pbx = call.pbx
    if not pbx.credentials_match(client_id, client_secret):
        pbx.counters.logins_failed += 1
        pbx.logins.record_failure(call.remote_ip)
        return answer(FAILURE)
    pbx.logins.record_success(call.remote_ip)
    grant = pbx.tokens.issue()
    if grant is None:
        pbx.counters.token_cap_hits += 1
        return answer(MAX_LIMITATION_EXCEEDED)
    pbx.counters.logins_ok += 1
    pbx.counters.tokens_issued += 1
    return _grant_answer(grant, pbx.tokens)


def refresh_token(call: ApiCall) -> Answer:
    """Swap a refresh token for a new pair; the old pair stops being valid."""
    body = call.json_object()
    if body is None:
        return answer(PARAMETER_SYNTAX_ERROR)
    grant = call.pbx.tokens.refresh(_body_str(body, "refresh_token"))
    if grant is None:
        return answer(TOKEN_EXPIRED)
    call.pbx.counters.tokens_issued += 1
    return _grant_answer(grant, call.pbx.tokens)


def del_token(call: ApiCall) -> Answer:
    """Revoke the access token given in the query."""
    if not call.pbx.tokens.revoke(call.query.get("access_token", "")):
        return answer(TOKEN_EXPIRED)
    return success()


def _body_str(body: dict[str, object], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str):
        # Never echo the value: it may be a secret sent in the wrong field.
        raise ParamError(key, "", "missing" if value is None else "string_type")
    return value


def _grant_answer(grant: Grant, tokens: TokenStore) -> Answer:
    # The expire times are durations in seconds, not timestamps (doc).
    return success(
        access_token=grant.access_token,
        access_token_expire_time=round(tokens.access_ttl_s),
        refresh_token=grant.refresh_token,
        refresh_token_expire_time=round(tokens.refresh_ttl_s),
    )
