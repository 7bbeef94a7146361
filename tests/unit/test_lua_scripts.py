"""The Lua scripts in their .lua files: each used, each loading, and the states they hard-code
the same as jobs/states.py."""

from __future__ import annotations

import re
from pathlib import Path

from core.lua import lua
from jobs.states import FINAL_STATES, RETRIED_STATES, State
from jobs.transitions import SUBMITTING

ROOT = Path(__file__).resolve().parents[2]
SOURCES = "\n".join(
    path.read_text(encoding="utf-8")
    for package in ("jobs", "worker", "celery_ext", "api")
    for path in (ROOT / package).rglob("*.py")
)
JOBS_LUA = ROOT / "jobs" / "lua"


def _table(text: str, name: str) -> set[str]:
    match = re.search(rf"local {name} = \{{(.*?)\}}", text, re.DOTALL)
    assert match is not None, name
    return set(re.findall(r"(\w+)=true", match.group(1)))


def test_every_script_file_is_loaded_by_a_module_or_used_by_another() -> None:
    scripts = sorted(ROOT.glob("*/lua/*.lua")) + sorted(ROOT.glob("*/*/lua/*.lua"))
    assert scripts
    used = set(re.findall(r'lua\(__file__, "(\w+)"\)', SOURCES))
    for path in scripts:
        text = path.read_text(encoding="utf-8")
        used |= (
            {part.strip() for part in re.findall(r"--! uses: ([\w, ]+)", text)[0].split(",")}
            if "--! uses:" in text
            else set()
        )
    assert {path.stem for path in scripts} <= used


def test_scripts_with_shared_functions_load_them_first() -> None:
    claim = lua(str(JOBS_LUA.parent / "item_store.py"), "claim")
    assert claim.index("local function nothing_open") < claim.index("local function transition")
    assert claim.index("local function transition") < claim.index("redis.call('SET', KEYS[1]")
    assert "--! uses" not in claim


def test_the_states_lua_knows_are_the_states_python_knows() -> None:
    transition = (JOBS_LUA / "transition.lua").read_text(encoding="utf-8")
    assert _table(transition, "final") == {state.value for state in FINAL_STATES}
    assert _table(transition, "retried") == {state.value for state in RETRIED_STATES}
    nothing_open = (JOBS_LUA / "nothing_open.lua").read_text(encoding="utf-8")
    (listed,) = re.findall(r"HMGET', counts, (.*?)\)\) do", nothing_open)
    open_states = {state.value for state in State if state not in FINAL_STATES}
    assert set(re.findall(r"'(\w+)'", listed)) == open_states | {SUBMITTING}
