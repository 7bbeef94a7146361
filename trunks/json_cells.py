"""JSON cells read without trusting them: bounded nesting, bounded numbers, no control characters.

`json.loads` recurses once per nesting level and turns any run of digits into an int, so a cell
of a thousand `[` or of 5,000 digits would raise RecursionError or ValueError instead of a
message. The nesting is measured first, by a linear scan, and numbers go through hooks that
refuse the oversized ones.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from trunks.text import ECHO_MAX_CHARS, TAB, CellError, control_problem, quoted

MAX_JSON_DEPTH = 8
MAX_JSON_INTEGER_DIGITS = 20  # a 64-bit id has at most 19
MAX_JSON_NUMBER_CHARS = 40
# String values that are names people read: the one place inside JSON where a TAB may stand.
FREE_TEXT_KEYS = frozenset({"outbound_cid_name", "did_name", "ext_name"})

_STRING_RE = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_BRACKET_RE = re.compile(r"[\[\]{}]")


def _too_deep(text: str) -> bool:
    """Whether brackets outside strings nest deeper than MAX_JSON_DEPTH."""
    if text.count("[") + text.count("{") <= MAX_JSON_DEPTH:
        return False  # the common case: too few brackets to nest that deep
    depth = 0
    for bracket in _BRACKET_RE.findall(_STRING_RE.sub("", text)):
        depth += 1 if bracket in "[{" else -1
        if depth > MAX_JSON_DEPTH:
            return True
    return False


def _integer(literal: str) -> int:
    if len(literal.lstrip("-")) > MAX_JSON_INTEGER_DIGITS:
        raise CellError(f"holds an integer of more than {MAX_JSON_INTEGER_DIGITS} digits")
    return int(literal)


def _number(literal: str) -> float:
    value = float(literal) if len(literal) <= MAX_JSON_NUMBER_CHARS else math.inf
    if not math.isfinite(value):
        raise CellError("holds a number too large to read")
    return value


def _constant(name: str) -> Any:
    raise CellError(f"is not valid JSON ({name} is not a JSON value)")


def _strings_problem(value: Any, path: str = "", key: str = "") -> str | None:
    """The first string (key or value) holding a control character, and what is wrong with it."""
    if isinstance(value, str):
        problem = control_problem(value, TAB if key in FREE_TEXT_KEYS else "")
        return f"{path}: {problem}" if problem else None
    if isinstance(value, list):
        found = (_strings_problem(item, f"{path}[{index}]") for index, item in enumerate(value))
        return next((problem for problem in found if problem), None)
    if isinstance(value, dict):
        for name, item in value.items():
            if problem := control_problem(name):
                return f"{path or 'the array'} has a key that {problem}"
            shown = name if len(name) <= ECHO_MAX_CHARS else quoted(name)
            if problem := _strings_problem(item, f"{path}.{shown}", name):
                return problem
    return None


# One decoder for every cell: json.loads would build one per call, given hooks.
_DECODER = json.JSONDecoder(parse_int=_integer, parse_float=_number, parse_constant=_constant)


def parse_json_array(text: str) -> list[Any]:
    """A JSON array (of objects, which the schema checks), read within the limits above."""
    if _too_deep(text):
        raise CellError(f"nests deeper than {MAX_JSON_DEPTH} levels")
    try:
        value = _DECODER.decode(text)
    except json.JSONDecodeError as exc:
        what = exc.msg.removesuffix(" at")  # "Invalid control character at", say
        raise CellError(f"is not valid JSON ({what} at character {exc.pos + 1})") from None
    except RecursionError:  # not reached past the depth check; kept as a message all the same
        raise CellError(f"nests deeper than {MAX_JSON_DEPTH} levels") from None
    if not isinstance(value, list):
        raise CellError("must be a JSON array of objects")
    # Raw controls are refused in the cell, and inside strings by json.loads: only an escape
    # (a backslash) can put one in a string.
    if "\\" in text and (problem := _strings_problem(value)):
        raise CellError(problem)
    return value
