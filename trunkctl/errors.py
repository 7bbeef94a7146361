"""The project's exception tree root and the mapping of errors to exit codes."""

from __future__ import annotations

import sys
from typing import NoReturn

import click
from redis.exceptions import RedisError

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_TIMEOUT = 3


class TrunkctlError(Exception):
    """Base of every error trunkctl raises on purpose; its message is safe to show."""

    exit_code = EXIT_FAILED


class UsageError(TrunkctlError):
    """Raised when options or input files cannot be used at all (exit 2)."""

    exit_code = EXIT_USAGE


class UnreadableInputError(UsageError):
    """Raised when an input file cannot be opened, read or decoded."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


def run_guarded(command: click.Group) -> NoReturn:
    """Run the CLI; a TrunkctlError becomes its message on stderr and its exit code.

    Commands hold no try/except of their own: domain errors are mapped here, once.
    """
    try:
        exit_code = command.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(EXIT_FAILED)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except TrunkctlError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except RedisError as exc:
        # Lost after the first ping, or refused (an ACL without the command): redis-py's message
        # names the host and port or the refusal, never the URL's password.
        click.echo(f"error: Redis at TRUNKCTL_REDIS_URL failed: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    # Commands return their exit code (1 for "the work failed"); None means success.
    sys.exit(exit_code if isinstance(exit_code, int) else EXIT_OK)
