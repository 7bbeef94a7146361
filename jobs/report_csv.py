"""The report as CSV: one record per trunk, safe to open in a spreadsheet.

A spreadsheet evaluates a cell that begins with `=`, `+`, `-` or `@` (or TAB, CR) as a formula:
such text cells from the input or a PBX get a leading `'`, unless they are plain numbers.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any, TextIO

from jobs.records import REPORT_FIELDS

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def spreadsheet_safe(text: str) -> str:
    """`text` as a cell no spreadsheet evaluates as a formula."""
    if text.startswith(FORMULA_STARTS) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def csv_cell(value: Any) -> Any:
    """A report value as a CSV cell: nothing for None, JSON for the PBX's structured detail,
    text made spreadsheet-safe."""
    if value is None:
        return ""
    if isinstance(value, list | dict):
        value = json.dumps(value, ensure_ascii=False)
    if isinstance(value, str):
        return spreadsheet_safe(value)
    return value


def write_report_csv(records: Iterable[Mapping[str, Any]], out: TextIO) -> None:
    """The `report --format csv` file: a header, then one line per record."""
    writer = csv.DictWriter(out, fieldnames=REPORT_FIELDS, lineterminator="\n")
    writer.writeheader()
    for record in records:
        writer.writerow({name: csv_cell(record.get(name)) for name in REPORT_FIELDS})
