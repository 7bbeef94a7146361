"""One CSV trunk row validated into a `trunk/create` request, or into messages per column."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import TypeAdapter, ValidationError

from trunks.cells import SECRET_COLUMNS, row_body
from trunks.schema import (
    MODEL_BY_TYPE,
    TRUNK_TYPES,
    AccountTrunk,
    PeerTrunk,
    RegisterTrunk,
    TrunkName,
    article,
)
from trunks.text import ECHO_MAX_CHARS, quoted

Trunk = RegisterTrunk | PeerTrunk | AccountTrunk
_TRUNK_NAME: TypeAdapter[str] = TypeAdapter(TrunkName)


@dataclass(frozen=True, slots=True)
class FieldError:
    """A problem with one column of a row (column None: the row as a whole)."""

    column: str | None
    message: str


@dataclass(frozen=True, slots=True)
class RowResult:
    """A validated row: its request when valid, every problem found otherwise."""

    request: Trunk | None
    errors: tuple[FieldError, ...]


def _path(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        key = part if isinstance(part, int) or len(part) <= ECHO_MAX_CHARS else quoted(part)
        text += f"[{key}]" if isinstance(key, int) else f".{key}" if text else key
    return text


def _shown(value: Any) -> str:
    """A value as the user wrote it: text quoted, JSON values (null, true, 1.5) as JSON; cut
    short when long."""
    if isinstance(value, str):
        return quoted(value)
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    if len(text) <= ECHO_MAX_CHARS:
        return text
    return f"{text[:ECHO_MAX_CHARS]}... ({len(text):,} characters)"


def _describe(error: Mapping[str, Any], trunk_type: str, column: str) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    shown = "" if column in SECRET_COLUMNS else f", got {_shown(error.get('input'))}"
    messages = {
        "missing": f"required for {article(trunk_type)} trunk",
        "extra_forbidden": f"does not belong to {article(trunk_type)} trunk (leave it empty)",
        "literal_error": f"must be {ctx.get('expected')}{shown}",
        "greater_than_equal": f"must be at least {ctx.get('ge')}{shown}",
        "less_than_equal": f"must be at most {ctx.get('le')}{shown}",
        "int_type": f"must be an integer{shown}",
        "string_type": f"must be a string{shown}",
        "string_too_short": "must not be empty",
        "list_type": "must be a JSON array",
        "model_type": "must be a JSON object",
        "model_attributes_type": "must be a JSON object",
    }
    return messages.get(kind, str(error["msg"]))


def _field_errors(exc: ValidationError, trunk_type: str) -> list[FieldError]:
    found: list[FieldError] = []
    for error in exc.errors(include_url=False):
        loc = tuple(error["loc"])
        column = str(loc[0]) if loc else None
        message = _describe(error, trunk_type, column or "")
        if len(loc) > 1:
            if error["type"] == "extra_forbidden":
                message = "unknown key"
            elif error["type"] == "missing":
                message = "required"
            message = f"{_path(loc)}: {message}"
        found.append(FieldError(column, message))
    return found


def _type_error(trunk_type: str) -> FieldError:
    expected = ", ".join(TRUNK_TYPES)
    if not trunk_type:
        return FieldError("type", f"required: one of {expected}")
    return FieldError("type", f"must be one of {expected}, got {quoted(trunk_type)}")


def validate_row(cells: Mapping[str, str], *, plain: bool = False) -> RowResult:
    """Every problem of one row's API columns, or the request it describes (`plain`: see
    `row_body`)."""
    body, cell_errors = row_body(cells, plain=plain)
    errors = [FieldError(column, message) for column, message in cell_errors.items()]
    trunk_type = body.get("type", "")
    model = MODEL_BY_TYPE.get(trunk_type)
    if model is None:
        errors.append(_type_error(trunk_type))
        if "name" in body:
            try:
                _TRUNK_NAME.validate_python(body["name"])
            except ValidationError as exc:
                # The adapter validates a bare value: its errors carry no column, so name it here.
                first = exc.errors(include_url=False)[0]
                errors.append(FieldError("name", _describe(first, trunk_type, "name")))
        return RowResult(None, tuple(errors))
    try:
        request = model.model_validate(body)
    except ValidationError as exc:
        # A cell that could not be read is already reported; its "required" echo is noise.
        errors.extend(e for e in _field_errors(exc, trunk_type) if e.column not in cell_errors)
        return RowResult(None, tuple(errors))
    if errors:
        return RowResult(None, tuple(errors))
    return RowResult(request, ())
