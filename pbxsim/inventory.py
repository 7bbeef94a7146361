"""The inventory CSV that trunkctl reads: one row per PBX with its API client credentials."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

INVENTORY_HEADER = ("pbx", "base_url", "client_id", "client_secret", "max_inflight")


def write_inventory(rows: Iterable[Mapping[str, Any]], path: str | Path) -> None:
    """Write the rows, header first, to a CSV file readable only by its owner (with the
    columns rows add to the simulator's own: tls_fingerprint, say)."""
    rows = list(rows)
    added = dict.fromkeys(key for row in rows for key in row if key not in INVENTORY_HEADER)
    target = Path(path)
    # The file holds client secrets: create it private before writing any.
    target.touch(mode=0o600, exist_ok=True)
    with target.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=[*INVENTORY_HEADER, *added])
        writer.writeheader()
        writer.writerows(rows)
