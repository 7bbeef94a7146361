"""The demo's world: a fleet of simulated PBXs, an inventory with one wrong secret, a batch.

Everything the demo writes stays in one directory; its PBX aliases start with `demo-`, so that the
entries it stores never replace a real inventory's.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pbxsim import SimSettings, SimulatorThread
from pbxsim.faults import FaultRule
from pbxsim.inventory import write_inventory
from trunks.cells import TRUNK_COLUMNS, body_cells

PBX_COUNT = 24
TRUNKS_PER_PBX = 12
LATENCY_RANGE_MS = (40.0, 120.0)
# PBXs (by number) that fail some requests now and then, which a rollout rides out on its own.
FLAKY_PBXS = (3, 11, 19)
WRONG_SECRET_PBX = 7
SEED = 7
# Backoff for the demo's workers: the faults above are retried in a second, not in twenty.
DEMO_WORKER_SETTINGS = {"TRUNKCTL_BACKOFF_BASE_S": "0.2", "TRUNKCTL_BACKOFF_MAX_S": "2"}


def demo_alias(number: int) -> str:
    """A demo PBX's inventory alias (the simulator serves it under pbx-NNN)."""
    return f"demo-pbx-{number:03d}"


def _fault_rules() -> list[FaultRule]:
    rules = []
    for number in FLAKY_PBXS:
        pbx = f"pbx-{number:03d}"
        rules += [
            FaultRule(endpoint="trunk/create", kind="errcode-2", pbx=pbx, every=4),
            FaultRule(endpoint="trunk/create", kind="drop_after", pbx=pbx, nth=2),
            FaultRule(endpoint="trunk/search", kind="http503", pbx=pbx, nth=1),
        ]
    return rules


def start_fleet() -> SimulatorThread:
    """The simulated PBXs, serving on a free loopback port, with their faults."""
    settings = SimSettings(pbx_count=PBX_COUNT, latency_range_ms=LATENCY_RANGE_MS, seed=SEED)
    simulator = SimulatorThread(settings).start()
    simulator.set_faults(_fault_rules())
    return simulator


@dataclass(frozen=True)
class DemoFiles:
    """The batch and both inventories the demo writes."""

    trunks: Path
    inventory: Path  # with one PBX's secret wrong
    corrected: Path

    @property
    def wrong_alias(self) -> str:
        """The PBX whose secret is wrong in `inventory`."""
        return demo_alias(WRONG_SECRET_PBX)


def write_files(simulator: SimulatorThread, directory: Path) -> DemoFiles:
    """The demo's trunks CSV and its two inventories, in `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    rows = [
        {**row, "pbx": demo_alias(number)}
        for number, row in enumerate(simulator.inventory_rows(), start=1)
    ]
    files = DemoFiles(
        directory / "trunks.csv", directory / "pbxs.csv", directory / "pbxs-fixed.csv"
    )
    write_inventory(rows, files.corrected)
    wrong = [
        {**row, "client_secret": "not-the-secret"} if row["pbx"] == files.wrong_alias else row
        for row in rows
    ]
    write_inventory(wrong, files.inventory)
    _write_trunks(files.trunks, [row["pbx"] for row in rows])
    return files


def _write_trunks(path: Path, aliases: list[str]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=TRUNK_COLUMNS)
        writer.writeheader()
        for index in range(TRUNKS_PER_PBX):
            for number, alias in enumerate(aliases, start=1):
                writer.writerow({**body_cells(_trunk(index, number)), "pbx": alias})


def _trunk(index: int, number: int) -> dict[str, Any]:
    """The index-th trunk of PBX `number`: registers, peers and accounts by turns."""
    common = {"name": f"carrier-{index:02d}", "country": "general", "transport": "udp"}
    codecs = "ulaw,alaw,g729"
    kind = ("register", "peer", "account")[index % 3]
    if kind == "peer":
        host = f"203.0.113.{index + 10}"
        return {
            **common, "type": "peer", "hostname": host, "port": 5060, "domain": host,
            "codec_sel": codecs,
        }  # fmt: skip
    user = f"{number:03d}{index:02d}"
    if kind == "account":
        return {
            **common, "type": "account", "number": f"7{user}", "password": f"Acct{user}Pw",
            "auth_name": f"acct{user}", "codec_sel": codecs,
        }  # fmt: skip
    return {
        **common, "type": "register", "hostname": "sip.example.net",
        "port": 5060, "domain": "sip.example.net", "username": user, "password": f"Reg{user}Pass",
        "auth_name": user, "codec_sel": codecs, "did_list": [{"did": f"5550{user}"}],
    }  # fmt: skip
