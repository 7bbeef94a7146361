"""Rules every cell obeys whatever its column, and how input is echoed in messages.

Control characters: C0 (U+0000-U+001F), DEL (U+007F) and C1 (U+0080-U+009F) are errors in every
cell. None has a place in a trunk's settings, and each can drive a terminal that shows them (ESC
and the 8-bit CSI U+009B start escape sequences). A column may allow some of them back: TAB in
free text, and the JSON whitespace (TAB, CR, LF) in JSON cells. Other invisible characters (bidi
marks, U+2028) are not controls: they are kept, and escaped wherever they are echoed.
"""

from __future__ import annotations

import functools
import re

MAX_CELL_CHARS = 1024
MAX_JSON_CELL_CHARS = 64 * 1024
# Longer input is cut short where a message quotes it: one line stays one line.
ECHO_MAX_CHARS = 60
TAB = "\t"
JSON_WHITESPACE = "\t\n\r"

_CONTROLS = "".join(map(chr, [*range(0x20), *range(0x7F, 0xA0)]))
_CONTROL_NAMES = {0x00: "NUL", 0x09: "TAB", 0x0A: "LF", 0x0D: "CR", 0x1B: "ESC", 0x7F: "DEL"}


class CellError(ValueError):
    """Raised when one cell cannot be read as the value its column needs."""


@functools.cache
def _controls_but(allowed: str) -> re.Pattern[str]:
    banned = "".join(char for char in _CONTROLS if char not in allowed)
    return re.compile(f"[{re.escape(banned)}]")


def control_problem(text: str, allowed: str = "", *, secret: bool = False) -> str | None:
    """What is wrong with the control characters of `text` (those in `allowed` are fine); a
    secret's message does not say which character, nor where."""
    if text.isprintable():  # the common case, in one C loop
        return None
    found = _controls_but(allowed).search(text)
    if found is None:
        return None
    if secret:
        return "holds a control character"
    code = ord(found.group())
    name = f" ({_CONTROL_NAMES[code]})" if code in _CONTROL_NAMES else ""
    return f"holds control character U+{code:04X}{name} at character {found.start() + 1}"


def cell_problem(
    text: str, max_chars: int = MAX_CELL_CHARS, allowed: str = "", *, secret: bool = False
) -> str | None:
    """What makes a cell unreadable whatever its column: its length, then its controls."""
    if len(text) > max_chars:
        return f"is longer than {max_chars:,} characters ({len(text):,})"
    return control_problem(text, allowed, secret=secret)


def printable(text: str) -> str:
    """`text` with every character that is not printable written as its escape (`\\x1b`), so
    that a file or column name cannot drive the terminal it is shown on."""
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)


def quoted(text: str) -> str:
    """`text` quoted for a message, escapes shown as text, cut short past ECHO_MAX_CHARS."""
    if len(text) <= ECHO_MAX_CHARS:
        return repr(text)
    return f"{text[:ECHO_MAX_CHARS]!r}... ({len(text):,} characters)"
