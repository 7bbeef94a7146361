"""Imports between the top-level packages run one way only, downward (read from the source)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# What each package may import of the others: the layers of docs/development.md.
ALLOWED = {
    "core": set(),
    "celery_ext": {"core"},  # every private name of Celery, kombu and redis-py, fenced in
    "trunks": {"core"},
    "jobs": {"core", "trunks", "celery_ext"},
    "producer": {"core", "trunks", "jobs"},
    "worker": {"core", "trunks", "jobs", "celery_ext"},
    "pbxsim": set(),  # a PBX of its own: nothing of the product, not even its schema
    "api": {"core", "trunks", "jobs", "producer"},
    "rollout": {"core", "trunks", "jobs", "producer", "pbxsim"},
    "trunkctl": {
        "core", "celery_ext", "trunks", "jobs", "producer", "worker", "pbxsim", "api", "rollout",
    },
}  # fmt: skip


def _imports(package: str) -> dict[str, set[str]]:
    """The other top-level packages each module of `package` imports, by module path."""
    found: dict[str, set[str]] = {}
    for path in (ROOT / package).rglob("*.py"):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
        tops = {name.split(".")[0] for name in names} & set(ALLOWED) - {package}
        if tops:
            found[str(path.relative_to(ROOT))] = tops
    return found


def test_imports_run_downward_only() -> None:
    wrong = {
        module: sorted(tops - ALLOWED[package])
        for package in ALLOWED
        for module, tops in _imports(package).items()
        if tops - ALLOWED[package]
    }
    assert wrong == {}
