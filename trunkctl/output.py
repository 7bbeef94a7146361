"""Printing for commands: JSON for scripts, state names in their colours for people."""

from __future__ import annotations

import json
import re
from typing import Any

import click

# One colour per state, in every view of it: tables, the live progress, the status page.
STATE_COLOURS = {
    "succeeded": "green", "exists": "green", "updated": "green", "failed": "red",
    "rejected": "red", "cancelled": "magenta", "running": "yellow", "retrying": "yellow",
}  # fmt: skip


# JSON escapes C0 itself; these it leaves raw, and a terminal acts on C1 (CSI is U+009B).
_RAW_IN_JSON = re.compile("[\x7f-\x9f\u2028\u2029]")


def print_json(data: Any) -> None:
    """JSON for scripts: one document on stdout, with no character a terminal would act on."""
    text = json.dumps(data, indent=2, ensure_ascii=False)
    click.echo(_RAW_IN_JSON.sub(lambda match: f"\\u{ord(match.group()):04x}", text))


def styled(state: str, width: int = 0) -> str:
    """A state name, padded, in its colour (click.echo drops colours off a terminal)."""
    return click.style(f"{state:<{width}}", fg=STATE_COLOURS.get(state))


def shown(text: str) -> str:
    """Text from a PBX or a file as the terminal should show it: control characters (an escape
    sequence in a PBX's errmsg, say) as \\x1b, never acted on."""
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)
