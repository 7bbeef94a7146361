"""Plans and rollbacks as people read them: a row per trunk, then summaries."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import click

from trunkctl.output import shown

ACTION_COLOURS = {
    "create": "green", "update": "yellow", "same": None, "conflict": "red", "unreadable": "red",
    "delete": "red", "restore": "yellow",
}  # fmt: skip
VALUE_CHARS = 60


def _value(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = shown(text)
    return text if len(text) <= VALUE_CHARS else f"{text[: VALUE_CHARS - 3]}..."


def change_text(changes: Mapping[str, Mapping[str, Any]]) -> str:
    """'port: 5060 -> 5070; password: changed' (a masked value is never shown)."""
    parts = []
    for field, change in changes.items():
        if change.get("new") == "***":
            parts.append(f"{field}: changed")
        else:
            parts.append(f"{field}: {_value(change.get('old'))} -> {_value(change.get('new'))}")
    return "; ".join(parts)


def _action(action: str, width: int = 10) -> str:
    return click.style(f"{action:<{width}}", fg=ACTION_COLOURS.get(action))


def print_plan(plan: Mapping[str, Any]) -> None:
    """Every row with its action and changes (or reason), then the counts per PBX and action."""
    click.echo(f"{'ACTION':<10} {'PBX':<16} {'NAME':<24} CHANGES")
    for row in plan["rows"]:
        what = change_text(row["changes"]) or shown(row["reason"] or "")
        click.echo(
            f"{_action(row['action'])} {shown(row['pbx']):<16} {shown(row['name']):<24} {what}"
        )
    click.echo("\nper PBX:")
    for pbx, counts in plan["pbxs"].items():
        counted = ", ".join(f"{action} {n}" for action, n in counts.items())
        click.echo(f"  {shown(pbx):<20} {counted}")
    counted = ", ".join(f"{action} {n}" for action, n in plan["counts"].items() if n)
    click.echo(f"per action: {counted}")


def print_rollback(plan: Mapping[str, Any]) -> None:
    """What a rollback would do, trunk by trunk (fields by name only), and what it leaves."""
    click.echo(f"{'ACTION':<10} {'PBX':<16} {'NAME':<24} TRUNK  FIELDS")
    for item in plan["items"]:
        fields = ", ".join(item["fields"])
        click.echo(
            f"{_action(item['action'])} {shown(item['pbx']):<16} {shown(item['name']):<24} "
            f"{item['trunk_id'] or '':<6} {fields}".rstrip()
        )
    counts = ", ".join(f"{action} {n}" for action, n in plan["counts"].items())
    left = ", ".join(f"{state} {n}" for state, n in plan["left_alone"].items()) or "nothing"
    click.echo(f"\nwould {counts}; left alone: {left}")
