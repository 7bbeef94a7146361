"""CSV cells of a trunk row turned into the values of a `trunk/create` body.

A cell holds text; the API wants integers, JSON arrays and trimmed strings. This module does that
conversion, within the limits every cell obeys (`trunks.text`: length, control characters), and
nothing else: the rules of the seed's tables live in `trunks.schema`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from trunks.json_cells import parse_json_array
from trunks.schema import API_FIELDS, FLAG_RANGE, PORT_RANGE
from trunks.text import (
    JSON_WHITESPACE,
    MAX_CELL_CHARS,
    MAX_JSON_CELL_CHARS,
    TAB,
    CellError,
    cell_problem,
    quoted,
)

__all__ = ["CellError"]  # raised by every parser here, and imported from here by their callers

PBX_COLUMN = "pbx"
TRUNK_COLUMNS: tuple[str, ...] = (*API_FIELDS, PBX_COLUMN)
INTEGER_RANGES = {
    "port": PORT_RANGE, "outbound_proxy_port": PORT_RANGE,
    "enable": FLAG_RANGE, "enb_outbound_proxy": FLAG_RANGE,
}  # fmt: skip
UNTRIMMED_COLUMNS = frozenset({"password"})
SECRET_COLUMNS = frozenset({"password"})
# Names people read, where a TAB may stand; every other column holds no control character.
FREE_TEXT_COLUMNS = frozenset({"def_outbound_cid_name", "itsp"})

_JSON_STARTS = ("[", "{")
# [0-9], not \d: int() would also read Arabic-Indic and other Unicode digits.
_INTEGER_RE = re.compile(r"[+-]?[0-9]+")


def parse_integer(text: str, value_range: tuple[int, int]) -> int:
    """A whole number written in decimal, read only when its digits can fit `value_range`
    (leading zeros aside); anything else is a CellError."""
    if not _INTEGER_RE.fullmatch(text):
        raise CellError(f"must be a whole number, got {quoted(text)}")
    low, high = value_range
    negative = text.startswith("-")
    widest = len(str(abs(low if negative else high)))
    if len(text.lstrip("+-").lstrip("0")) > widest:
        bound = f"at least {low}" if negative else f"at most {high}"
        raise CellError(f"must be {bound}, got {quoted(text)}")
    return int(text)


def parse_did_list(text: str) -> list[Any]:
    """`did[:did_name]` items separated by `;`, or a JSON array of DID_List objects."""
    if text.startswith(_JSON_STARTS):  # an object is a mistaken array, not a DID named '{"did"'
        return parse_json_array(text)
    items: list[Any] = []
    for part in text.split(";"):
        item = part.strip()
        if not item:
            continue  # a trailing or doubled ';' is a spreadsheet habit, not a DID
        did, sep, did_name = item.partition(":")
        if TAB in did:
            raise CellError(f"DID {quoted(did.strip())} holds a TAB (only a DID name may)")
        entry = {"did": did.strip()}
        if sep and did_name.strip():
            entry["did_name"] = did_name.strip()
        items.append(entry)
    if not items:
        raise CellError("holds no DID (items are did[:did_name], separated by ';')")
    return items


def _integer_parser(value_range: tuple[int, int]) -> Callable[[str], int]:
    digits = len(str(value_range[1]))

    def parse(text: str) -> int:
        if len(text) <= digits and text.isdigit() and text.isascii():
            return int(text)  # the common case: a few plain digits
        return parse_integer(text, value_range)

    return parse


_PARSERS: dict[str, Callable[[str], Any]] = {
    **{column: _integer_parser(bounds) for column, bounds in INTEGER_RANGES.items()},
    "did_list": parse_did_list,
    "outbound_cid_list": parse_json_array,
}


def _cell_limits(column: str, raw: str) -> tuple[int, str]:
    """The longest a cell of `column` may be, and the control characters it may hold."""
    if column == "outbound_cid_list" or (
        column == "did_list" and raw.lstrip().startswith(_JSON_STARTS)
    ):
        return MAX_JSON_CELL_CHARS, JSON_WHITESPACE
    if column in FREE_TEXT_COLUMNS or column == "did_list":  # a DID list names its DIDs
        return MAX_CELL_CHARS, TAB
    return MAX_CELL_CHARS, ""


def cell_text(column: str, raw: str) -> str:
    """The text of a cell to parse: within its column's limits, trimmed (but a password)."""
    untrimmed = column in UNTRIMMED_COLUMNS
    if untrimmed and raw != raw.strip():
        raise CellError("has leading or trailing spaces (a spreadsheet accident?)")
    if len(raw) > MAX_CELL_CHARS or not raw.isprintable():  # else fine in every column
        max_chars, allowed = _cell_limits(column, raw)
        problem = cell_problem(raw, max_chars, allowed, secret=column in SECRET_COLUMNS)
        if problem and column == "did_list" and len(raw) > max_chars == MAX_CELL_CHARS:
            problem += f" (a JSON array of DIDs may hold {MAX_JSON_CELL_CHARS:,})"
        if problem:
            raise CellError(problem)
    return raw if untrimmed else raw.strip()


def row_body(
    cells: Mapping[str, str], *, plain: bool = False
) -> tuple[dict[str, Any], dict[str, str]]:
    """The body values of a row's API columns, and a message per column that could not be read.

    Empty cells mean "not sent" and are left out; `pbx` is not part of the body. `plain`: no
    cell is over-long or holds a control character (the reader knows it of a whole row at once).
    """
    body: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for column in API_FIELDS:
        raw = cells.get(column)
        if not raw:
            continue
        try:
            if plain:  # cell_text's common case, without the call
                text = raw.strip()
                if text != raw and column in UNTRIMMED_COLUMNS:
                    text = cell_text(column, raw)  # raises: a password is not trimmed
            else:
                text = cell_text(column, raw)
            if text:
                parse = _PARSERS.get(column)
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
    # A short form starting like JSON would be read back as JSON; a long one is refused.
    too_long = len(short) > MAX_CELL_CHARS
    return json.dumps(items) if too_long or short.startswith(_JSON_STARTS) else short


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
