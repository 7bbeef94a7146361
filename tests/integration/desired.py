"""Helpers of the desired-state end-to-end tests: the CLI against a rollout's Redis and queue,
and a fleet with trunks already on it (absent, the same, drifted, of another type)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from pbxsim import SimulatorThread
from tests.e2e import Rollout, register_body, write_trunks_csv
from tests.worker_process import FAST_SETTINGS

# The passwords any output must never show: the rows', and those the PBXs held before.
ROW_PASSWORD = "Wanted1234Pw"
DRIFTED_PASSWORD = "Drifted999Pw"


def cli(rollout: Rollout, *args: str, timeout_s: float = 120) -> subprocess.CompletedProcess[str]:
    """`trunkctl ARGS` on the rollout's Redis and queue (its workers deliver)."""
    env = {
        **os.environ, **FAST_SETTINGS, **rollout.env(),
        "TRUNKCTL_DATA_DIR": str(rollout.tmp_path / "data"), "COLUMNS": "200",
    }  # fmt: skip
    return subprocess.run(
        [sys.executable, "-m", "trunkctl", *args], env=env, text=True, capture_output=True,
        timeout=timeout_s, check=False,
    )  # fmt: skip


def cli_json(rollout: Rollout, *args: str, code: int = 0) -> Any:
    """`trunkctl ARGS --json`'s object; the exit code must be `code`."""
    done = cli(rollout, *args, "--json")
    assert done.returncode == code, done.stdout + done.stderr
    return json.loads(done.stdout)


def wanted_row(name: str, number: int) -> dict[str, Any]:
    """The row an MSP wants on every PBX: a register trunk."""
    return {**register_body(name, number), "password": ROW_PASSWORD}


def peer_of(name: str) -> dict[str, Any]:
    """A peer trunk of that name: a register row cannot be applied to it."""
    return {
        "name": name, "country": "general", "type": "peer", "transport": "udp",
        "hostname": "peer.example.net", "port": 5060, "domain": "peer.example.net",
        "codec_sel": "ulaw",
    }  # fmt: skip


def mixed_fleet(sim: SimulatorThread, tmp_path: Path) -> tuple[Path, Path]:
    """On each PBX: `absent` (to create), `same` (already as the row says), `drifted` (another
    codec order, port and password: to update) and, on the first PBX, `conflict` (a peer trunk
    of that name). The trunks CSV and the inventory CSV."""
    rows: list[tuple[str, dict[str, Any]]] = []
    for number, alias in enumerate(sim.aliases()):
        wanted = {name: wanted_row(name, number) for name in ("absent", "same", "drifted")}
        drifted = {
            **wanted["drifted"], "codec_sel": "alaw,ulaw", "port": 5070,
            "password": DRIFTED_PASSWORD,
        }  # fmt: skip
        preloaded = [wanted["same"], drifted]
        rows += [(alias, wanted[name]) for name in ("absent", "same", "drifted")]
        if number == 0:
            preloaded.append(peer_of("conflict"))
            rows.append((alias, wanted_row("conflict", number)))
        sim.preload_trunks(alias, preloaded)
    trunks = write_trunks_csv(tmp_path / "wanted.csv", rows)
    pbxs = tmp_path / "pbxs.csv"
    sim.write_inventory(pbxs)
    return trunks, pbxs


def pbx_state(sim: SimulatorThread) -> dict[str, list[dict[str, Any]]]:
    """Every PBX's trunks by name, without their ids (what a rollback must give back)."""
    return {
        alias: sorted(
            ({k: v for k, v in trunk.items() if k != "id"} for trunk in sim.trunks(alias)),
            key=lambda trunk: str(trunk["name"]),
        )
        for alias in sim.aliases()
    }


def secrets_of(rollout: Rollout, sim: SimulatorThread) -> list[str]:
    """Every secret of the test that no output may show: the trunk passwords, the PBXs' client
    secrets, and the access and refresh tokens the workers share (read from Redis)."""
    found = [ROW_PASSWORD, DRIFTED_PASSWORD]
    found += [str(row["client_secret"]) for row in sim.inventory_rows()]
    for key in rollout.client.scan_iter(match="trunkctl:token:*"):
        if rollout.client.type(key) == b"hash":
            pair = rollout.client.hgetall(key)
            found += [
                pair[name].decode() for name in (b"access_token", b"refresh_token") if name in pair
            ]
    return found
