"""Trunk bodies checked with the project's schema, and its errors as an `invalid_param_list`."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError

from pbxsim.errcodes import param_problem
from trunks.schema import TRUNK_TYPES, parse_request_body

# A password is never echoed back: the answer may end up in the client's logs.
REDACTED = "******"
_SECRET_FIELDS = frozenset({"password"})
_MISSING = object()


def trunk_body_problems(body: dict[str, Any]) -> list[dict[str, str]]:
    """The body's invalid parameters per the schema; empty when the body is valid."""
    try:
        parse_request_body(body)
    except ValidationError as exc:
        return [_problem(body, error) for error in exc.errors(include_url=False)]
    return []


def _problem(body: dict[str, Any], error: Any) -> dict[str, str]:
    path = _path_after_tag(tuple(error["loc"]), body)
    if not path:
        # The discriminator itself is missing or unknown.
        path = ("type",)
    return param_problem(field_name(path), _value_text(body, path), str(error["type"]))


def _path_after_tag(loc: tuple[Any, ...], body: dict[str, Any]) -> tuple[str | int, ...]:
    if loc and loc[0] in TRUNK_TYPES and loc[0] == body.get("type"):
        return loc[1:]
    return loc


def field_name(path: Sequence[str | int]) -> str:
    """A location as the PBX names fields: `outbound_cid_list[0].ext_list[0].id`."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def _value_text(body: dict[str, Any], path: Sequence[str | int]) -> str:
    value = _lookup(body, path)
    if value is _MISSING:
        return ""
    if path and path[-1] in _SECRET_FIELDS:
        return REDACTED
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"))


def _lookup(body: Any, path: Sequence[str | int]) -> Any:
    value = body
    for part in path:
        value = _child(value, part)
        if value is _MISSING:
            break
    return value


def _child(value: Any, part: str | int) -> Any:
    if isinstance(part, int):
        in_list = isinstance(value, list) and 0 <= part < len(value)
        return value[part] if in_list else _MISSING
    return value.get(part, _MISSING) if isinstance(value, dict) else _MISSING
