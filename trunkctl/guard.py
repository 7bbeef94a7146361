"""The one place where errors become a line on stderr and an exit code."""

from __future__ import annotations

import sys
from typing import NoReturn

import click
from redis.exceptions import RedisError

from core.errors import EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, TrunkctlError


def run_guarded(command: click.Group) -> NoReturn:
    """Run the CLI; a TrunkctlError becomes its message on stderr and its exit code.

    Commands hold no try/except of their own: domain errors are mapped here, once.
    """
    try:
        exit_code = command.main(standalone_mode=False)
    except click.exceptions.Abort:  # click's word for Ctrl-C
        click.echo("interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)
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
