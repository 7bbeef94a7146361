"""`trunkctl serve`: the HTTP API and the status page, until interrupted."""

from __future__ import annotations

import asyncio
import logging
import sys
from importlib.metadata import version

import click

from core.errors import UsageError
from trunkctl import context


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", type=click.IntRange(0, 65535), default=8080, show_default=True,
    help="0 picks a free port (printed in the ready line).",
)  # fmt: skip
@click.option(
    "--insecure-no-token", is_flag=True,
    help="Serve without TRUNKCTL_API_TOKEN: anyone on this machine may use the API (loopback "
    "only).",
)  # fmt: skip
def serve(host: str, port: int, insecure_no_token: bool) -> None:
    """Serve the HTTP API and the status page on the job store the CLI uses."""
    from api.app import create_app  # noqa: PLC0415 - only this command needs aiohttp's server
    from api.backend import ApiConfig  # noqa: PLC0415
    from api.server import is_loopback, serve_until_signalled  # noqa: PLC0415

    settings = context.settings()
    token = settings.api_token or None
    if token is None and not insecure_no_token:
        raise UsageError(
            "TRUNKCTL_API_TOKEN is not set: set it to a long random string (e.g. `openssl rand "
            "-hex 32`), or pass --insecure-no-token to serve on loopback without one"
        )
    if token is None and not is_loopback(host):
        raise UsageError(f"--insecure-no-token serves on loopback only, not on {host!r}")
    if token is not None and insecure_no_token:
        click.echo("TRUNKCTL_API_TOKEN is set: the API asks for it (--insecure-no-token is moot)")
    config = ApiConfig(token, settings.api_max_upload_mb * 2**20, version("trunkctl"))
    app = create_app(context.job_store(), context.task_queue(), config)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(name)s: %(message)s")

    def on_ready(url: str) -> None:
        click.echo(f"trunkctl: serving the status page and the API at {url} (Ctrl-C stops)")

    try:
        asyncio.run(serve_until_signalled(app, host, port, on_ready))
    except OSError as exc:  # the port is taken, the address is not this machine's...
        raise UsageError(f"{host}:{port}: {exc.strerror or exc}") from None
