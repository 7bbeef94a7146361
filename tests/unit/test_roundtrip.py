"""Property: any valid request survives CSV -> model -> JSON body -> model unchanged."""

from __future__ import annotations

import csv
import io
import re
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from producer.batch import BatchRow, read_batch
from tests.unit import strategies
from trunks.cells import TRUNK_COLUMNS, body_cells
from trunks.rows import Trunk
from trunks.schema import parse_request_body

PBX = "pbx-1"
# The line breaks that end a physical line for Python's text files (and for editors).
_LINE_BREAK = re.compile(r"\r\n|\r|\n")

SETTINGS = settings(max_examples=100, deadline=None, database=None)


def _record(trunk: Trunk, *, did_list_as_json: bool) -> dict[str, str]:
    cells = body_cells(trunk.request_body(), did_list_as_json=did_list_as_json)
    return {**cells, "pbx": PBX}


def _csv_text(records: list[dict[str, str]], columns: list[str], delimiter: str) -> list[str]:
    """The header, then each record, as the exact text csv.writer produces for it."""
    texts = []
    for values in [dict(zip(columns, columns, strict=True)), *records]:
        out = io.StringIO(newline="")
        csv.writer(out, delimiter=delimiter).writerow([values.get(col, "") for col in columns])
        texts.append(out.getvalue())
    return texts


def _read_back(texts: list[str], *, bom: bool) -> list[BatchRow]:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "trunks.csv"
        path.write_bytes(("\ufeff" if bom else "").encode() + "".join(texts).encode())
        items = list(read_batch([path], {PBX}))
    assert all(isinstance(item, BatchRow) for item in items), items
    return [item for item in items if isinstance(item, BatchRow)]


def _start_lines(texts: list[str]) -> list[int]:
    lines, line = [], 1
    for text in texts:
        lines.append(line)
        line += len(_LINE_BREAK.findall(text))
    return lines[1:]


def _assert_same_request(read: Trunk | None, original: Trunk) -> None:
    assert read == original
    assert read is not None
    body = read.request_body()
    assert body == original.request_body()
    assert parse_request_body(body) == original


@SETTINGS
@given(trunk=strategies.TRUNKS, did_list_as_json=st.booleans())
def test_one_trunk_survives_csv_and_json(trunk: Trunk, did_list_as_json: bool) -> None:
    texts = _csv_text([_record(trunk, did_list_as_json=did_list_as_json)], list(TRUNK_COLUMNS), ",")
    (row,) = _read_back(texts, bom=False)
    assert row.problems == ()
    _assert_same_request(row.request, trunk)


@SETTINGS
@given(
    trunks=st.lists(strategies.TRUNKS, min_size=1, max_size=4, unique_by=lambda t: t.name),
    columns=st.permutations(TRUNK_COLUMNS),
    delimiter=st.sampled_from([",", ";"]),
    bom=st.booleans(),
)
def test_a_file_of_trunks_reads_back_in_order_on_its_physical_lines(
    trunks: list[Trunk], columns: list[str], delimiter: str, bom: bool
) -> None:
    texts = _csv_text([_record(t, did_list_as_json=False) for t in trunks], columns, delimiter)
    rows = _read_back(texts, bom=bom)
    assert [row.line for row in rows] == _start_lines(texts)
    for row, trunk in zip(rows, trunks, strict=True):
        assert row.problems == ()
        assert (row.pbx, row.name, row.type) == (PBX, trunk.name, trunk.type)
        _assert_same_request(row.request, trunk)
