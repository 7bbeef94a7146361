"""Makespan of `trunkctl plan` against simulated PBXs, with one worker process already running.

N PBXs x M trunks at L ms, max_inflight 1; a third of each PBX's trunks are already on it (half
of those as the rows say, half drifted). A plan reads: a `trunk/search` per row, a `trunk/get`
per trunk found, and one `get_token` per PBX. Measured from the start of `trunkctl plan --workers
0` to its return (it waits for the plan itself), against the lower bound set by the busiest
PBX: its reads x the latency.

    python bench/plan.py --pbxs 100 --trunks 30 --latency-ms 200
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.delivery import Rig, aliases, trunkctl  # noqa: E402
from core.settings import Settings  # noqa: E402
from tests.e2e import register_body, write_trunks_csv  # noqa: E402

EXISTING_EVERY = 3  # every third trunk of a PBX is on it already


def preload(inventory: Path, alias: str, bodies: list[dict[str, object]]) -> None:
    """Store trunks on one simulated PBX through its inspection API."""
    with inventory.open(encoding="utf-8") as handle:
        base_url = next(row["base_url"] for row in csv.DictReader(handle) if row["pbx"] == alias)
    root = base_url.rsplit("/", 1)[0]
    request = urllib.request.Request(  # noqa: S310 - the simulator on 127.0.0.1
        f"{root}/_sim/pbx/{alias}/trunks", data=json.dumps({"trunks": bodies}).encode(),
        headers={"Content-Type": "application/json"}, method="POST",
    )  # fmt: skip
    with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
        answer.read()


def fleet(
    pbxs: list[str], per_pbx: int, inventory: Path
) -> tuple[list[tuple[str, dict[str, object]]], int]:
    """The rows, with some trunks preloaded; the reads of the busiest PBX (with its token)."""
    rows: list[tuple[str, dict[str, object]]] = []
    busiest = 0
    for n, alias in enumerate(pbxs):
        bodies = [register_body(f"trunk-{i}", n * per_pbx + i) for i in range(per_pbx)]
        existing = bodies[::EXISTING_EVERY]
        drifted = [{**body, "port": 5070} if k % 2 else body for k, body in enumerate(existing)]
        preload(inventory, alias, drifted)
        rows += [(alias, body) for body in bodies]
        busiest = max(busiest, per_pbx + len(existing) + 1)
    return rows, busiest


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pbxs", type=int, default=100)
    parser.add_argument("--trunks", type=int, default=30)
    parser.add_argument("--latency-ms", type=float, default=200)
    parser.add_argument(
        "--concurrency", type=int, default=Settings().worker_concurrency, help="tasks per worker"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="trunkctl-bench-") as directory:
        workdir = Path(directory)
        rig = Rig(args.pbxs, args.latency_ms, workdir, args.concurrency)
        try:
            rows, reads = fleet(aliases(args.pbxs), args.trunks, rig.inventory)
            trunks = write_trunks_csv(workdir / "trunks.csv", rows)
            started = time.perf_counter()
            out = trunkctl(
                rig.env, "plan", str(trunks), "--pbxs", str(rig.inventory), "--workers", "0",
                "--json",
            )  # fmt: skip
            makespan_s = time.perf_counter() - started
            plan = json.loads(out)
        finally:
            rig.close()
    bound_s = reads * args.latency_ms / 1000
    print(
        f"plan: {args.pbxs} PBXs x {args.trunks} trunks ({-(-args.trunks // EXISTING_EVERY)} "
        f"on each already), {args.latency_ms:.0f} ms, max_inflight 1, one worker"
    )
    print(f"  counts {plan['counts']}")
    print(
        f"  makespan {makespan_s:.2f} s  lower bound {bound_s:.2f} s ({reads} reads of the "
        f"busiest PBX)  ratio {makespan_s / bound_s:.3f}"
    )


if __name__ == "__main__":
    main()
