"""Trunk bodies checked against Yeastar's tables (trunk_tables.py), answered as the PBX does: an
`invalid_param_list` of {field, value, validation_type}, the password never echoed."""

from __future__ import annotations

import json
import re
import string
from collections.abc import Mapping, Sequence
from typing import Any

from pbxsim.errcodes import param_problem
from pbxsim.trunk_tables import (
    ANY_TYPE_FIELDS,
    FIXED_AT_CREATE,
    NAME_MAX_LENGTH,
    REGISTER_PASSWORD_MIN_LENGTH,
    SWITCH,
    TRUNK_TABLES,
    Field,
)

# The validation types this simulator answers with (Yeastar's own example uses "required").
REQUIRED = "required"
UNKNOWN_FIELD = "unknown_field"
NOT_FOR_TYPE = "not_for_type"
NOT_FOR_OPTION = "not_for_option"
NOT_CHANGEABLE = "not_changeable"
STRING_TYPE = "string_type"
INT_TYPE = "int_type"
LIST_TYPE = "list_type"
OBJECT_TYPE = "object_type"
ENUM = "enum"
RANGE = "range"
DUPLICATE = "duplicate"
MAX_LENGTH = "max_length"
TRUNK_NAME = "trunk_name"
WEAK_PASSWORD = "register_password"  # noqa: S105  # a validation type, not a secret
CONTROL_CHARACTER = "control_character"

# A password is never echoed back: the answer may end up in the client's logs.
REDACTED = "******"
_SECRET_FIELDS = frozenset({"password"})
_MISSING = object()
_NAME_RE = re.compile(r"[A-Za-z0-9_.-]+")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
_CONTROL_BUT_TAB_RE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
# ASCII classes: str.isdigit would take a superscript or an Arabic-Indic digit for one.
_PASSWORD_CLASSES = (
    frozenset(string.digits),
    frozenset(string.ascii_uppercase),
    frozenset(string.ascii_lowercase),
)

Path = tuple[str | int, ...]
Problem = tuple[Path, str]


def trunk_body_problems(body: Mapping[str, Any]) -> list[dict[str, str]]:
    """The body's invalid parameters per the table of its type; empty when the body is valid."""
    return [_entry(body, path, kind) for path, kind in _body_problems(body)]


def update_problems(stored: Mapping[str, Any], changes: Mapping[str, Any]) -> list[dict[str, str]]:
    """An update's problems: a field fixed at create that it would change, else the merged
    trunk's problems."""
    fixed = [
        ((name,), NOT_CHANGEABLE)
        for name in FIXED_AT_CREATE
        if name in changes and changes[name] != stored.get(name, _MISSING)
    ]
    if fixed:
        return [_entry(changes, path, kind) for path, kind in fixed]
    return trunk_body_problems({**stored, **changes})


def _body_problems(body: Mapping[str, Any]) -> list[Problem]:
    trunk_type = body.get("type", _MISSING)
    if trunk_type is _MISSING:
        return [(("type",), REQUIRED)]
    if not isinstance(trunk_type, str):
        return [(("type",), STRING_TYPE)]
    if trunk_type not in TRUNK_TABLES:
        # Without a known type there is no table to check the rest against.
        return [(("type",), ENUM)]
    return _object_problems(body, TRUNK_TABLES[trunk_type], (), ANY_TYPE_FIELDS)


def _object_problems(
    obj: Mapping[str, Any], table: Sequence[Field], path: Path, foreign: frozenset[str]
) -> list[Problem]:
    """Each field of the table in its order, then every key the table does not have."""
    problems = [problem for field in table for problem in _field_problems(obj, field, table, path)]
    known = {field.name for field in table}
    for key in obj:
        if key not in known:
            problems.append(((*path, key), NOT_FOR_TYPE if key in foreign else UNKNOWN_FIELD))
    return problems


def _field_problems(
    obj: Mapping[str, Any], field: Field, table: Sequence[Field], path: Path
) -> list[Problem]:
    here = (*path, field.name)
    when = field.required_when
    required = field.required or (when is not None and obj.get(when.field) == when.value)
    if field.name not in obj:
        return [(here, REQUIRED)] if required else []
    if when is not None and when.refused_otherwise and not required:
        sibling = next(other for other in table if other.name == when.field)
        if obj.get(when.field) in sibling.choices:
            return [(here, NOT_FOR_OPTION)]
    value = obj[field.name]
    if field.kind == "int":
        kind = _int_problem(field, value)
        return [] if kind is None else [(here, kind)]
    if field.kind == "list":
        return _list_problems(field, value, here, required)
    kind = _text_problem(field, value, required)
    return [] if kind is None else [(here, kind)]


def _int_problem(field: Field, value: Any) -> str | None:
    # JSON integers only: "5060", 5060.0 and true are not integers.
    if not isinstance(value, int) or isinstance(value, bool):
        return INT_TYPE
    low, high = field.int_range or (value, value)
    if low <= value <= high:
        return None
    return ENUM if field.int_range == SWITCH else RANGE


def _list_problems(field: Field, value: Any, here: Path, required: bool) -> list[Problem]:
    if not isinstance(value, list):
        return [(here, LIST_TYPE)]
    if not value and required:
        return [(here, REQUIRED)]
    problems: list[Problem] = []
    for index, item in enumerate(value):
        if isinstance(item, dict):
            problems += _object_problems(item, field.items, (*here, index), frozenset())
        else:
            problems.append(((*here, index), OBJECT_TYPE))
    return problems


def _text_problem(field: Field, value: Any, required: bool) -> str | None:
    if not isinstance(value, str):
        return STRING_TYPE
    if not value.strip():
        # A required field sent empty (or blank) is as good as missing; an optional one may be
        # cleared.
        return REQUIRED if required else None
    controls = _CONTROL_BUT_TAB_RE if field.free_text else _CONTROL_RE
    if controls.search(value):
        return CONTROL_CHARACTER
    if field.rule:
        return _RULES[field.rule](field, value)
    return ENUM if field.choices and value not in field.choices else None


def _name_problem(_field: Field, value: str) -> str | None:
    if len(value) > NAME_MAX_LENGTH:
        return MAX_LENGTH
    return None if _NAME_RE.fullmatch(value) else TRUNK_NAME


def _register_password_problem(_field: Field, value: str) -> str | None:
    strong = len(value) >= REGISTER_PASSWORD_MIN_LENGTH and all(
        not chars.isdisjoint(value) for chars in _PASSWORD_CLASSES
    )
    return None if strong else WEAK_PASSWORD


def _codecs_problem(field: Field, value: str) -> str | None:
    # Exactly the valid names between commas: " alaw" is no codec, nor is an empty item.
    codecs = value.split(",")
    if any(codec not in field.choices for codec in codecs):
        return ENUM
    return DUPLICATE if len(set(codecs)) < len(codecs) else None


_RULES = {
    "trunk_name": _name_problem,
    "register_password": _register_password_problem,
    "codecs": _codecs_problem,
}


def _entry(body: Mapping[str, Any], path: Path, kind: str) -> dict[str, str]:
    return param_problem(field_name(path), _value_text(body, path), kind)


def field_name(path: Sequence[str | int]) -> str:
    """A location as the PBX names fields: `outbound_cid_list[0].ext_list[0].id`."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def _value_text(body: Mapping[str, Any], path: Sequence[str | int]) -> str:
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
