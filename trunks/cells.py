"""CSV cells of a trunk row turned into the values of a `trunk/create` body.

A cell holds text; the API wants integers, JSON arrays and trimmed strings. This module does that
conversion and nothing else: the rules of the seed's tables live in `trunks.schema`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from trunks.schema import API_FIELDS

PBX_COLUMN = "pbx"
TRUNK_COLUMNS: tuple[str, ...] = (*API_FIELDS, PBX_COLUMN)
INTEGER_COLUMNS = frozenset({"port", "enable", "enb_outbound_proxy", "outbound_proxy_port"})
UNTRIMMED_COLUMNS = frozenset({"password"})

_JSON_STARTS = ("[", "{")
# [0-9], not \d: int() would also read Arabic-Indic and other Unicode digits.
_INTEGER_RE = re.compile(r"[+-]?[0-9]+")


class CellError(ValueError):
    """Raised when one cell cannot be read as the value its column needs."""


def parse_integer(text: str) -> int:
    """A whole number written in decimal; anything else is a CellError."""
    if not _INTEGER_RE.fullmatch(text):
        raise CellError(f"must be a whole number, got {text!r}")
    return int(text)


def _parse_json_array(text: str) -> list[Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CellError(f"is not valid JSON ({exc.msg} at character {exc.pos + 1})") from None
    if not isinstance(value, list):
        raise CellError("must be a JSON array of objects")
    return value


def parse_did_list(text: str) -> list[Any]:
    """`did[:did_name]` items separated by `;`, or a JSON array of DID_List objects."""
    if text.startswith(_JSON_STARTS):  # an object is a mistaken array, not a DID named '{"did"'
        return _parse_json_array(text)
    items: list[Any] = []
    for part in text.split(";"):
        item = part.strip()
        if not item:
            continue  # a trailing or doubled ';' is a spreadsheet habit, not a DID
        did, sep, did_name = item.partition(":")
        entry = {"did": did.strip()}
        if sep and did_name.strip():
            entry["did_name"] = did_name.strip()
        items.append(entry)
    if not items:
        raise CellError("holds no DID (items are did[:did_name], separated by ';')")
    return items


_PARSERS: dict[str, Callable[[str], Any]] = {
    **dict.fromkeys(INTEGER_COLUMNS, parse_integer),
    "did_list": parse_did_list,
    "outbound_cid_list": _parse_json_array,
}


def row_body(cells: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """The body values of a row's API columns, and a message per column that could not be read.

    Empty cells mean "not sent" and are left out; `pbx` is not part of the body.
    """
    body: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for column in API_FIELDS:
        raw = cells.get(column)
        if not raw:
            continue
        if column in UNTRIMMED_COLUMNS:
            if raw != raw.strip():
                errors[column] = "has leading or trailing spaces (a spreadsheet accident?)"
                continue
            text = raw
        else:
            text = raw.strip()
            if not text:
                continue
        parse = _PARSERS.get(column)
        try:
            body[column] = text if parse is None else parse(text)
        except CellError as exc:
            errors[column] = str(exc)
    return body, errors


def _short_form_fits(item: Mapping[str, Any]) -> bool:
    """Whether `did[:did_name]` reads back into exactly this DID_List item."""
    texts = [item.get("did"), *([item["did_name"]] if "did_name" in item else [])]
    return (
        set(item) <= {"did", "did_name"}
        and all(
            isinstance(text, str) and text and text == text.strip() and ";" not in text
            for text in texts
        )
        and ":" not in item["did"]
    )


def _did_cell(items: list[Mapping[str, Any]]) -> str:
    if not items or not all(_short_form_fits(item) for item in items):
        return json.dumps(items)
    short = ";".join(
        f"{item['did']}:{item['did_name']}" if "did_name" in item else item["did"] for item in items
    )
    # A short form starting like JSON would be read back as JSON.
    return json.dumps(items) if short.startswith(_JSON_STARTS) else short


def body_cells(body: Mapping[str, Any], *, did_list_as_json: bool = False) -> dict[str, str]:
    """The CSV cells that read back into `body` (the inverse of `row_body`)."""
    cells: dict[str, str] = {}
    for column, value in body.items():
        if column == "did_list" and not did_list_as_json:
            cells[column] = _did_cell(value)
        elif isinstance(value, list):
            cells[column] = json.dumps(value)
        else:
            cells[column] = str(value)
    return cells
