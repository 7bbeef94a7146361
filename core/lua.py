"""Lua scripts from `.lua` files: each beside the modules that call it, in their `lua/` folder.

Redis 6.2 (the embedded default's) has no function libraries, so a script that needs a shared
function names its file in a first line `--! uses: transition` and gets it put before its own
text, once, when it is loaded.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

_USES = re.compile(r"--! uses: ([\w, ]+)\n")


@functools.cache
def lua(module_file: str, name: str) -> str:
    """The script `lua/<name>.lua` beside the module whose `__file__` is `module_file`, with the
    shared functions it uses put before it."""
    folder = Path(module_file).parent / "lua"
    text = (folder / f"{name}.lua").read_text(encoding="utf-8")
    match = _USES.match(text)
    if match is None:
        return text
    used = [part.strip() for part in match.group(1).split(",")]
    return "".join(lua(module_file, part) for part in used) + text[match.end() :]
