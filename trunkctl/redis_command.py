"""`trunkctl redis`: the embedded Redis's whereabouts, and a way to stop it."""

from __future__ import annotations

import click

from core.embedded_redis import EmbeddedRedis
from core.errors import EXIT_OK
from trunkctl import context


def _embedded() -> EmbeddedRedis | None:
    if context.settings().redis_url:
        click.echo("TRUNKCTL_REDIS_URL is set: trunkctl starts no Redis of its own", err=True)
        return None
    return EmbeddedRedis(context.settings().data_path)


@click.group("redis")
def redis_command() -> None:
    """The embedded Redis that trunkctl starts when TRUNKCTL_REDIS_URL is unset."""


@redis_command.command()
def status() -> int:
    """Where it is and whether it runs (never its password)."""
    server = _embedded()
    if server is not None:
        state = "running" if server.running() else "stopped"
        click.echo(f"{state}: {server.description}")
    return EXIT_OK


@redis_command.command()
def stop() -> int:
    """Stop it (its data stays on disk; the next command starts it again)."""
    server = _embedded()
    if server is not None:
        click.echo("stopped" if server.stop() else "it was not running")
    return EXIT_OK
