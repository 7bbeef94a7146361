"""Printing for commands: JSON for scripts."""

from __future__ import annotations

import json
from typing import Any

import click


def print_json(data: Any) -> None:
    """JSON for scripts: one document on stdout."""
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))
