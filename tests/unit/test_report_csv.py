"""The CSV report: spreadsheet-safe text cells, values otherwise as they are."""

from __future__ import annotations

import csv
import io

import pytest

from jobs.records import REPORT_FIELDS
from jobs.report_csv import csv_cell, spreadsheet_safe, write_report_csv


@pytest.mark.parametrize(
    "text",
    ['=HYPERLINK("http://x","y")', "+1+1", "-A1", "@SUM(A1)", "\t=1", "\r=1", "=x.csv", "-"],
)
def test_text_a_spreadsheet_would_run_gets_a_quote(text: str) -> None:
    assert spreadsheet_safe(text) == "'" + text


@pytest.mark.parametrize("text", ["-5", "+12", "-1.5", "+1e10", "-.5", "acme-hq", "a=b", ""])
def test_plain_numbers_and_ordinary_text_stay(text: str) -> None:
    assert spreadsheet_safe(text) == text


def test_cells_of_each_kind() -> None:
    assert csv_cell(None) == ""
    assert csv_cell(3) == 3
    assert csv_cell(-40003) == -40003
    assert csv_cell([{"field": "=x"}]) == '[{"field": "=x"}]'
    assert csv_cell("=cmd") == "'=cmd"


def test_the_report_file_quotes_every_dangerous_column() -> None:
    record = dict.fromkeys(REPORT_FIELDS)
    record.update(
        file="=x.csv", line=2, pbx="-pbx", name="-A1", type="register", state="failed",
        attempts=1, errcode=-2, errmsg="=HYPERLINK(\"http://evil\")", detail=None,
    )  # fmt: skip
    out = io.StringIO()
    write_report_csv([record], out)
    (row,) = csv.DictReader(io.StringIO(out.getvalue()))
    assert list(row) == list(REPORT_FIELDS)
    assert row["file"] == "'=x.csv"
    assert row["name"] == "'-A1"
    assert row["pbx"] == "'-pbx"
    assert row["errmsg"].startswith("'=")
    assert row["errcode"] == "-2"  # a number, not text
    assert row["line"] == "2"
