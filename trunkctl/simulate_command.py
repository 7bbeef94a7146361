"""`trunkctl simulate`: serve N simulated PBXs until interrupted."""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path

import click

from pbxsim.faults import PRESETS
from pbxsim.fleet import Fleet
from pbxsim.inventory import write_inventory
from pbxsim.server import RunningServer, ready_line, serve_until_signalled
from pbxsim.settings import DEFAULT_ACCESS_TTL_S, DEFAULT_REFRESH_TTL_S, SimSettings


def _latency_range(
    _ctx: click.Context, _param: click.Parameter, value: str | None
) -> tuple[float, float] | None:
    if value is None:
        return None
    low, sep, high = value.partition("-")
    try:
        low_ms, high_ms = float(low), float(high)
    except ValueError:
        raise click.BadParameter("expected LO-HI in milliseconds, e.g. 50-200") from None
    if not sep or not 0 <= low_ms <= high_ms:
        raise click.BadParameter("expected LO-HI with 0 <= LO <= HI, e.g. 50-200")
    return low_ms, high_ms


@click.command("simulate")
@click.option("--pbxs", "pbx_count", type=click.IntRange(min=1), default=10, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8090,
    show_default=True,
    help="0 picks a free port (printed in the ready line).",
)
@click.option(
    "--latency-ms",
    type=click.FloatRange(min=0),
    default=0.0,
    show_default=True,
    help="Delay added to every request.",
)
@click.option(
    "--latency-range-ms",
    callback=_latency_range,
    metavar="LO-HI",
    help="Draw each request's delay uniformly from LO-HI instead.",
)
@click.option(
    "--max-inflight",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Requests a PBX serves at once; more are answered 70082.",
)
@click.option("--faults", type=click.Choice(sorted(PRESETS)), default="none", show_default=True)
@click.option(
    "--write-inventory",
    "inventory_path",
    metavar="FILE",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the inventory CSV (with client secrets) before serving.",
)
@click.option(
    "--inventory-url",
    metavar="URL",
    help="Root URL of the base URLs written by --write-inventory, when workers reach the "
    "simulator by another name than --host (e.g. http://simulator:8090 in docker compose). "
    "Default: where it serves.",
)
@click.option(
    "--token-ttl-s",
    type=click.FloatRange(min=1),
    default=DEFAULT_ACCESS_TTL_S,
    show_default=True,
    help="Access token lifetime.",
)
@click.option(
    "--refresh-ttl-s",
    type=click.FloatRange(min=1),
    default=DEFAULT_REFRESH_TTL_S,
    show_default=True,
    help="Refresh token lifetime.",
)
@click.option("--trunk-quota", type=click.IntRange(min=1), help="Trunks per PBX (60002 beyond).")
@click.option("--seed", type=int, help="Make client credentials and latency draws repeatable.")
@click.option(
    "--keep-alive",
    is_flag=True,
    help="Keep connections open (a real PBX closes them; for measuring the server).",
)
@click.option("--access-log", is_flag=True, help="Log each request (path only, never the query).")
def simulate(
    *,
    pbx_count: int,
    host: str,
    port: int,
    latency_ms: float,
    latency_range_ms: tuple[float, float] | None,
    max_inflight: int,
    faults: str,
    inventory_path: Path | None,
    inventory_url: str | None,
    token_ttl_s: float,
    refresh_ttl_s: float,
    trunk_quota: int | None,
    seed: int | None,
    keep_alive: bool,
    access_log: bool,
) -> None:
    """Serve simulated Yeastar P-Series PBXs at http://HOST:PORT/pbx-001 and up."""
    settings = SimSettings(
        pbx_count=pbx_count,
        latency_ms=latency_ms,
        latency_range_ms=latency_range_ms,
        max_inflight=max_inflight,
        access_ttl_s=token_ttl_s,
        refresh_ttl_s=refresh_ttl_s,
        trunk_quota=trunk_quota,
        faults=faults,
        seed=seed,
        close_connections=not keep_alive,
    )

    def on_ready(server: RunningServer) -> None:
        if inventory_path is not None:
            root_url = (inventory_url or server.root_url).rstrip("/")
            write_inventory(server.fleet.inventory_rows(root_url), inventory_path)
        click.echo(ready_line(server))

    if access_log:
        logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(name)s: %(message)s")
    try:
        asyncio.run(serve_until_signalled(Fleet(settings), host, port, on_ready, access_log))
    except OSError as exc:  # the port is taken, the inventory file cannot be written...
        where = f"{exc.filename}: " if exc.filename else f"{host}:{port}: "
        raise click.UsageError(f"{where}{exc.strerror or exc}") from None
