"""The `trunkctl` command line: each command parses its options and delegates."""

from __future__ import annotations

import click

from producer.cli import validate
from trunkctl.errors import run_guarded


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="trunkctl")
def cli() -> None:
    """Roll SIP trunks out to fleets of Yeastar P-Series PBXs."""


cli.add_command(validate)


def main() -> None:
    """Console-script entry point."""
    run_guarded(cli)
