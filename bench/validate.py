"""Validation throughput and memory: N generated trunk rows through `validate_batch`.

    python bench/validate.py [--rows N] [--pbxs K] [--compare] [--tracemalloc] [--profile]

Each measurement runs in a fresh interpreter, so one run's heap never flatters the next. Memory
is the growth of peak RSS during `validate_batch` (and, with --tracemalloc, the peak of Python's
own allocations); with --compare it is measured for N/10 and N rows, and should not grow with N.
--profile prints where the time goes (cProfile, which slows everything down about 2x).
"""

from __future__ import annotations

import argparse
import cProfile
import csv
import json
import pstats
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

from producer.validation import validate_batch
from trunks.cells import TRUNK_COLUMNS

# The mix of examples/trunks.csv: mostly register trunks, some with caller-ID rules and DIDs.
_SHARED_CID = json.dumps(
    [
        {
            "outbound_cid_option": "shared",
            "outbound_cid": "5503301",
            "ext_list": [{"id": 12, "type": "ext_group"}],
        }
    ]
)
_RANGE_CID = json.dumps(
    [
        {
            "outbound_cid_option": "range",
            "outbound_cid": "5503401",
            "outbound_cid_to_ext_range": "1000-1099",
        }
    ]
)


def _register(index: int) -> dict[str, str]:
    return {
        "type": "register", "transport": "udp", "hostname": "sip.provider.example", "port": "5060",
        "domain": "sip.provider.example", "username": f"{6700 + index}",
        "password": f"Secret{index:06d}x", "auth_name": f"{6700 + index}", "codec_sel": "ulaw,alaw",
        "enable": "1",
    }  # fmt: skip


def _register_with_cid(index: int) -> dict[str, str]:
    cells = _register(index)
    cells.update(
        codec_sel="ulaw, alaw, g729", def_outbound_cid="5503300", def_outbound_cid_name="Acme",
        outbound_cid_list=_SHARED_CID, did_list=f"{5500000 + index}:Main;{6600000 + index}",
    )  # fmt: skip
    return cells


def _register_with_did(index: int) -> dict[str, str]:
    return {**_register(index), "did_list": f"{5500000 + index}:Branch"}


def _peer(index: int) -> dict[str, str]:
    return {
        "type": "peer", "transport": "tcp", "hostname": f"203.0.113.{index % 250 + 1}",
        "port": "5060", "domain": "203.0.113.10", "codec_sel": "alaw,g729", "enable": "1",
    }  # fmt: skip


def _peer_with_cid(index: int) -> dict[str, str]:
    return {**_peer(index), "outbound_cid_list": _RANGE_CID, "did_list": f"{5500000 + index}"}


def _account(index: int) -> dict[str, str]:
    return {
        "type": "account", "transport": "udp", "number": f"{1000 + index}",
        "password": f"Acc0unt-{index}", "auth_name": f"gw{index}", "codec_sel": "ulaw,opus",
        "enable": "1",
    }  # fmt: skip


_KINDS = (
    _register_with_cid, _register, _peer_with_cid, _register_with_did,
    _account, _register_with_did, _peer, _account,
)  # fmt: skip


def write_inputs(directory: Path, rows: int, pbxs: int) -> tuple[Path, Path]:
    """A trunks CSV of `rows` valid mixed trunks spread over `pbxs` PBXs, and its inventory."""
    inventory = directory / "pbxs.csv"
    with inventory.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["pbx", "base_url", "client_id", "client_secret"])
        for number in range(pbxs):
            writer.writerow([f"pbx-{number}", f"http://10.0.0.1:8090/pbx-{number}", "c", "s"])
    trunks = directory / "trunks.csv"
    with trunks.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=TRUNK_COLUMNS)
        writer.writeheader()
        for index in range(rows):
            cells = _KINDS[index % len(_KINDS)](index)
            cells.update(name=f"trunk-{index}", country="general", pbx=f"pbx-{index % pbxs}")
            writer.writerow(cells)
    return trunks, inventory


def _peak_rss_kib() -> int:
    # Linux reports ru_maxrss in KiB.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def measure(trunks: Path, inventory: Path, *, trace: bool) -> dict[str, Any]:
    """Validate once in this process: rows, seconds, and how much the peak memory grew."""
    if trace:
        tracemalloc.start()
    rss_before_kib = _peak_rss_kib()
    started = time.perf_counter()
    report = validate_batch([trunks], inventory)
    seconds = time.perf_counter() - started
    result: dict[str, Any] = {
        "rows": report.valid + report.invalid,
        "invalid": report.invalid,
        "seconds": seconds,
        "rss_growth_kib": _peak_rss_kib() - rss_before_kib,
    }
    if trace:
        result["tracemalloc_peak_kib"] = tracemalloc.get_traced_memory()[1] // 1024
        tracemalloc.stop()
    return result


def _measure_in_child(trunks: Path, inventory: Path, *, trace: bool) -> dict[str, Any]:
    command = [sys.executable, __file__, "--measure", str(trunks), str(inventory)]
    if trace:
        command.append("--trace")
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def run(rows: int, pbxs: int, *, trace: bool) -> dict[str, Any]:
    """Generate the inputs for `rows` rows and measure them in fresh interpreters."""
    with tempfile.TemporaryDirectory(prefix="trunkctl-bench-") as directory:
        trunks, inventory = write_inputs(Path(directory), rows, pbxs)
        result = _measure_in_child(trunks, inventory, trace=False)
        if result["rows"] != rows or result["invalid"]:
            raise SystemExit(f"expected {rows} valid rows, got {result}")
        if trace:
            traced = _measure_in_child(trunks, inventory, trace=True)
            result["tracemalloc_peak_kib"] = traced["tracemalloc_peak_kib"]
    return result


def profile(rows: int, pbxs: int) -> None:
    """Validate `rows` rows in this process under cProfile; print the top functions."""
    with tempfile.TemporaryDirectory(prefix="trunkctl-bench-") as directory:
        trunks, inventory = write_inputs(Path(directory), rows, pbxs)
        with cProfile.Profile() as profiler:
            validate_batch([trunks], inventory)
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)


def _print(result: dict[str, Any]) -> None:
    line = (
        f"{result['rows']:>9,} rows  {result['seconds']:7.2f} s  "
        f"{result['rows'] / result['seconds']:>9,.0f} rows/s  "
        f"peak RSS growth {result['rss_growth_kib'] / 1024:6.1f} MiB"
    )
    if "tracemalloc_peak_kib" in result:
        line += f"  tracemalloc peak {result['tracemalloc_peak_kib'] / 1024:6.1f} MiB"
    print(line, flush=True)


def main() -> None:
    """Parse the options, then measure (or, as a child, measure once and print JSON)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="rows to validate")
    parser.add_argument("--pbxs", type=int, default=50, help="PBXs the rows are spread over")
    parser.add_argument("--compare", action="store_true", help="also measure N/10 rows")
    parser.add_argument("--tracemalloc", action="store_true", help="also trace Python's heap")
    parser.add_argument("--profile", action="store_true", help="show where the time goes")
    parser.add_argument("--measure", nargs=2, type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(*args.measure, trace=args.trace)))
        return
    if args.profile:
        profile(args.rows, args.pbxs)
        return
    sizes = [max(args.rows // 10, 1), args.rows] if args.compare else [args.rows]
    results = []
    for rows in sizes:
        results.append(run(rows, args.pbxs, trace=args.tracemalloc))
        _print(results[-1])
    if args.compare:
        small, large = results
        print(
            f"rows x{large['rows'] / small['rows']:.0f}: peak RSS growth "
            f"{small['rss_growth_kib'] / 1024:.1f} -> {large['rss_growth_kib'] / 1024:.1f} MiB"
        )


if __name__ == "__main__":
    main()
