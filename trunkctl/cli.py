"""The `trunkctl` command line: each command parses its options and delegates.

Commands are imported when invoked, so `trunkctl status` does not pay for the simulator or the
worker (start-up time counts in every rollout's makespan).
"""

from __future__ import annotations

import importlib

import click

from trunkctl.guard import run_guarded

COMMANDS = {
    "validate": "trunkctl.batch_commands:validate",
    "submit": "trunkctl.batch_commands:submit",
    "status": "trunkctl.job_commands:status",
    "report": "trunkctl.job_commands:report",
    "retry": "trunkctl.job_commands:retry",
    "jobs": "trunkctl.job_commands:jobs",
    "cancel": "trunkctl.job_commands:cancel",
    "plan": "trunkctl.desired_commands:plan",
    "apply": "trunkctl.desired_commands:apply",
    "rollback": "trunkctl.desired_commands:rollback",
    "run": "trunkctl.run_command:run",
    "demo": "trunkctl.demo_command:demo_command",
    "redis": "trunkctl.redis_command:redis_command",
    "worker": "trunkctl.worker_command:worker",
    "simulate": "trunkctl.simulate_command:simulate",
    "serve": "trunkctl.serve_command:serve",
}


class LazyGroup(click.Group):
    """A group whose commands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*COMMANDS, *super().list_commands(ctx)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return super().get_command(ctx, cmd_name)
        module_name, attribute = target.split(":")
        command = getattr(importlib.import_module(module_name), attribute)
        assert isinstance(command, click.Command)  # noqa: S101 - COMMANDS names commands only
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="trunkctl")
def cli() -> None:
    """Roll SIP trunks out to fleets of Yeastar P-Series PBXs."""


def main() -> None:
    """Console-script entry point."""
    run_guarded(cli)
