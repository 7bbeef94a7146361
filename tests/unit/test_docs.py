"""The reference docs stay true to the code: every setting, every command is documented."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

from core.settings import ENV_PREFIX, Settings
from trunkctl.cli import COMMANDS

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_every_setting_is_in_the_configuration_table() -> None:
    text = (DOCS / "configuration.md").read_text()
    for field in fields(Settings):
        assert f"`{ENV_PREFIX}{field.name.upper()}`" in text, field.name


def test_every_command_is_in_the_cli_reference() -> None:
    text = (DOCS / "cli.md").read_text()
    for command in COMMANDS:
        assert f"`trunkctl {command}" in text, command
