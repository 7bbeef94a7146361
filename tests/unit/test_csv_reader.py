"""Trunk CSV files: the reader's edge cases, then whole batches (read_batch, validate_batch)."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import UnreadableInputError
from producer.batch import BatchRow, FileProblem, read_batch
from producer.csv_reader import CsvRow, HeaderProblem, detect_delimiter, open_table
from producer.problems import Problem
from producer.validation import validate_batch
from trunks.cells import TRUNK_COLUMNS

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
HEADER = "pbx,name,type,country,transport,hostname,port,domain,codec_sel,itsp"
PEER = "acme-hq,{name},peer,general,udp,203.0.113.10,5060,203.0.113.10,ulaw,{itsp}"
INVENTORY = (
    "pbx,base_url,client_id,client_secret\n"
    "acme-hq,http://127.0.0.1:8090/pbx-001,client-001,s1\n"
    "globex,http://127.0.0.1:8090/pbx-003,client-003,s3\n"
)


def peer(name: str, itsp: str = "") -> str:
    """One valid peer-trunk line of HEADER for PBX acme-hq."""
    return PEER.format(name=name, itsp=itsp)


def write(directory: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    """A file with exactly this text (no newline translation)."""
    path = directory / name
    path.write_bytes(text.encode(encoding))
    return path


def read_table(path: Path) -> tuple[list[str], list[HeaderProblem], list[CsvRow]]:
    """The columns, header problems and rows of a trunks CSV."""
    with open_table(path, TRUNK_COLUMNS) as table:
        return table.columns, table.problems, list(table.rows())


def lines_of(text: str, tmp_path: Path) -> list[int]:
    """The start line of every row of a trunks CSV with this text."""
    _, problems, rows = read_table(write(tmp_path, "t.csv", text))
    assert problems == []
    return [row.line for row in rows]


def batch(tmp_path: Path, *files: tuple[str, str]) -> list[BatchRow | FileProblem]:
    """read_batch over these (name, text) files, with the aliases of INVENTORY."""
    paths = [write(tmp_path, name, text) for name, text in files]
    return list(read_batch(paths, {"acme-hq", "globex"}))


def rows_of(items: list[BatchRow | FileProblem]) -> list[BatchRow]:
    """The rows of a batch (failing if it has file problems)."""
    assert all(isinstance(item, BatchRow) for item in items), items
    return [item for item in items if isinstance(item, BatchRow)]


def problems_of(items: list[BatchRow | FileProblem]) -> list[Problem]:
    """Every problem of a batch, in order, with the file reduced to its name."""
    found = [
        problem
        for item in items
        for problem in (item.problems if isinstance(item, BatchRow) else (item.problem,))
    ]
    return [Problem(Path(p.file).name, p.line, p.column, p.message) for p in found]


# --- the reader -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header_line", "delimiter"),
    [
        ("pbx,name,type\n", ","),
        ("pbx;name;type\n", ";"),
        ('pbx;name;"type,x,y"\n', ";"),
        ('pbx,"name;x;y",type\n', ","),
        ("pbx\n", ","),
        ("", ","),
    ],
    ids=["comma", "semicolon", "quoted-commas", "quoted-semicolons", "one-column", "empty"],
)
def test_the_delimiter_comes_from_the_header(header_line: str, delimiter: str) -> None:
    assert detect_delimiter(header_line) == delimiter


@pytest.mark.parametrize("delimiter", [",", ";"])
@pytest.mark.parametrize("bom", [True, False], ids=["bom", "no-bom"])
def test_delimiter_and_bom(tmp_path: Path, delimiter: str, bom: bool) -> None:
    text = ("\ufeff" if bom else "") + f"pbx{delimiter}name{delimiter}codec_sel\n"
    text += f'acme-hq{delimiter}a{delimiter}"ulaw,alaw"\n'
    columns, problems, rows = read_table(write(tmp_path, "t.csv", text))
    assert (columns, problems) == (["pbx", "name", "codec_sel"], [])
    assert rows == [CsvRow(2, {"pbx": "acme-hq", "name": "a", "codec_sel": "ulaw,alaw"}, 0, True)]


def test_header_names_are_trimmed_and_lower_cased(tmp_path: Path) -> None:
    columns, problems, _ = read_table(write(tmp_path, "t.csv", " PBX ,Name,  CODEC_SEL\n"))
    assert (columns, problems) == (["pbx", "name", "codec_sel"], [])


def unknown(column: str, guess: str) -> HeaderProblem:
    """The problem of an unknown column that looks like a known one."""
    return HeaderProblem(column, f"unknown column {column!r}; did you mean {guess!r}?")


@pytest.mark.parametrize(
    ("header", "problems"),
    [
        ("pbx,nmae", [unknown("nmae", "name")]),
        ("pbx,codecs", [unknown("codecs", "codec_sel")]),
        ("pbx,passwd", [unknown("passwd", "password")]),
        ("pbx,dids", [unknown("dids", "did_list")]),
        # Nothing alike: the nearest is still named.
        ("pbx,trunk", [HeaderProblem(
            "trunk", "unknown column 'trunk'; the closest valid column is 'transport'"
        )]),
        ("pbx,name,NAME", [HeaderProblem("name", "column 'name' appears more than once")]),
        ("pbx,,name", [HeaderProblem(None, "column 2 has no name")]),
        ("pbx,nmae,pbx", [
            unknown("nmae", "name"), HeaderProblem("pbx", "column 'pbx' appears more than once"),
        ]),
    ],
    ids=[
        "typo", "codecs", "passwd", "dids", "no-close-match", "repeated", "unnamed",
        "several",
    ],
)  # fmt: skip
def test_header_problems(tmp_path: Path, header: str, problems: list[HeaderProblem]) -> None:
    assert read_table(write(tmp_path, "t.csv", header + "\n"))[1] == problems


@pytest.mark.parametrize(
    ("text", "lines"),
    [
        ("pbx,name\na,1\na,2\n", [2, 3]),
        ("pbx,name\r\na,1\r\na,2\r\n", [2, 3]),
        ("pbx,name\na,1\na,2", [2, 3]),
        ("pbx,name\n\na,1\n\n\na,2\n\n", [3, 6]),
        ("pbx,name\n  \n,\n , \na,1\n", [5]),
        ('pbx,name\na,"x\ny\nz"\na,2\n', [2, 5]),
        ('pbx,name\r\na,"x\r\ny\r\nz"\r\n\r\na,2\r\n', [2, 6]),
        ('pbx,name\na,"1,2"\na,"say ""hi"""\na,3\n', [2, 3, 4]),
        ("\n\npbx,name\na,1\n", [4]),
    ],
    ids=[
        "plain",
        "crlf",
        "no-final-newline",
        "blank-lines",
        "rows-of-empty-cells",
        "quoted-3-line-cell",
        "quoted-3-line-cell-crlf",
        "quoted-commas-and-quotes",
        "blank-lines-before-header",
    ],
)
def test_rows_start_on_their_physical_line(tmp_path: Path, text: str, lines: list[int]) -> None:
    assert lines_of(text, tmp_path) == lines


def test_a_header_cell_spanning_lines_is_an_unknown_column(tmp_path: Path) -> None:
    _, problems, rows = read_table(write(tmp_path, "t.csv", 'pbx,"na\nme"\na,1\n'))
    assert [problem.column for problem in problems] == ["na\nme"]
    assert [row.line for row in rows] == [3]


def test_cells_keep_commas_and_newlines_of_quoted_text(tmp_path: Path) -> None:
    text = 'pbx,itsp,codec_sel\nacme-hq,"Acme\nTelecom, Ltd","ulaw,alaw"\n'
    (row,) = read_table(write(tmp_path, "t.csv", text))[2]
    assert row.cells == {"pbx": "acme-hq", "itsp": "Acme\nTelecom, Ltd", "codec_sel": "ulaw,alaw"}


@pytest.mark.parametrize(
    ("row", "plain"),
    [
        ("acme-hq,a,ulaw", True),
        ("acme-hq,a,ulaw\r", True),
        ("acme-hq,a\tb,ulaw", False),
        ("acme-hq,a\u00a0b,ulaw", False),
        ('acme-hq,"a\nb",ulaw', False),
        ("acme-hq," + "a" * 1020 + ",ulaw", False),
    ],
    ids=["short", "crlf", "tab", "no-break-space", "two-lines", "long"],
)
def test_a_plain_row_is_one_short_line_of_printable_characters(
    tmp_path: Path, row: str, plain: bool
) -> None:
    # Only the cells of a row that is not plain need checking against the rules of every cell.
    [read] = read_table(write(tmp_path, "t.csv", f"pbx,name,codec_sel\n{row}\n"))[2]
    assert read.plain == plain


def test_short_rows_and_long_rows(tmp_path: Path) -> None:
    rows = read_table(write(tmp_path, "t.csv", "pbx,name,type\na\na,b,c,d,\na,b,c,,\n"))[2]
    assert [(row.cells, row.extra_cells) for row in rows] == [
        ({"pbx": "a"}, 0),
        ({"pbx": "a", "name": "b", "type": "c"}, 1),
        ({"pbx": "a", "name": "b", "type": "c"}, 0),
    ]


@pytest.mark.parametrize(
    "text", ["", "\n", " \r\n\n", "\ufeff"], ids=["empty", "newline", "blank", "bom"]
)
def test_an_empty_file_is_a_header_problem(tmp_path: Path, text: str) -> None:
    columns, problems, rows = read_table(write(tmp_path, "t.csv", text))
    assert (columns, rows) == ([], [])
    assert problems == [HeaderProblem(None, "the file is empty: a header row is required")]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"pbx,name\n\xff,a\n", "is not UTF-8 text: line 2 (invalid start byte)"),
        ("pbx,itsp\nacme-hq,Zürich\n".encode("latin-1"), "is not UTF-8 text: line 2"),
        ("pbx,name\n".encode("utf-16"), "is not UTF-8 text: line 1"),
        (b"pbx,name\n" + b"acme-hq,a\n" * 2000 + b"acme-hq,\xe9\n", "is not UTF-8 text: line 2002"),
    ],
    ids=["bad-byte", "latin-1", "utf-16", "bad-byte-after-the-first-chunk"],
)
def test_a_file_that_is_not_utf8_is_unreadable(tmp_path: Path, data: bytes, reason: str) -> None:
    path = tmp_path / "t.csv"
    path.write_bytes(data)
    with pytest.raises(UnreadableInputError) as exc:
        read_table(path)
    assert exc.value.path == str(path)
    assert reason in exc.value.reason
    assert str(exc.value).startswith(f"{path}: ")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (
            'pbx,name,itsp\nacme-hq,a,"Acme\nacme-hq,b,x\nacme-hq,c,y\n',
            "line 2: a quoted cell is opened and never closed",
        ),
        ('pbx,name,itsp\nacme-hq,a,x\nacme-hq,b,"Acme" Inc\n', "line 3: badly quoted cell"),
    ],
    ids=["never-closed", "text-after-the-closing-quote"],
)
def test_broken_quoting_is_unreadable_not_rows_run_together(
    tmp_path: Path, text: str, reason: str
) -> None:
    # Read leniently, the open quote would swallow every later row into one cell, silently.
    with pytest.raises(UnreadableInputError) as exc:
        read_table(write(tmp_path, "t.csv", text))
    assert exc.value.reason.startswith(reason)


@pytest.mark.parametrize("name", ["missing.csv", "."], ids=["missing", "directory"])
def test_a_file_that_cannot_be_opened_is_unreadable(tmp_path: Path, name: str) -> None:
    with pytest.raises(UnreadableInputError) as exc:
        read_table(tmp_path / name)
    assert exc.value.path == str(tmp_path / name)
    assert exc.value.reason in ("No such file or directory", "Is a directory")


# --- batches: read_batch ----------------------------------------------------------------------


def test_rows_come_out_in_order_with_their_location(tmp_path: Path) -> None:
    items = batch(tmp_path, ("t.csv", f"{HEADER}\n{peer('a')}\n\n{peer('b')}\n"))
    assert [(Path(r.file).name, r.line, r.pbx, r.name, r.type) for r in rows_of(items)] == [
        ("t.csv", 2, "acme-hq", "a", "peer"),
        ("t.csv", 4, "acme-hq", "b", "peer"),
    ]
    assert all(row.request is not None for row in rows_of(items))


def test_a_row_after_a_three_line_cell_is_reported_on_its_own_line(tmp_path: Path) -> None:
    # A line break is a control character: an error in a name's cell, on the row's first line.
    three_lines = '"Acme\nTelecom\nLtd"'
    text = f"{HEADER}\n{peer('a', itsp=three_lines)}\n\n{peer('b b')}\n"
    assert problems_of(batch(tmp_path, ("t.csv", text))) == [
        Problem("t.csv", 2, "itsp", "holds control character U+000A (LF) at character 5"),
        Problem("t.csv", 6, "name", "may contain only letters, digits, '_', '-' and '.' "
                "(no spaces), got 'b b'"),
    ]  # fmt: skip


def test_a_bad_header_yields_file_problems_and_no_rows(tmp_path: Path) -> None:
    items = batch(
        tmp_path,
        ("bad.csv", f"{HEADER},nmae,name\n{peer('a')},x,y\n"),
        ("good.csv", f"{HEADER}\n{peer('a')}\n"),
    )
    assert items[:2] == [
        FileProblem(Problem(str(tmp_path / "bad.csv"), 1, "nmae", "unknown column 'nmae'; "
                            "did you mean 'name'?")),
        FileProblem(Problem(str(tmp_path / "bad.csv"), 1, "name", "column 'name' appears more "
                            "than once")),
    ]  # fmt: skip
    # The bad file's names are not indexed: the good file's 'a' is not a duplicate.
    assert [(Path(r.file).name, r.problems) for r in rows_of(items[2:])] == [("good.csv", ())]


@pytest.mark.parametrize(
    ("alias", "message"),
    [
        ("acme-hk", "'acme-hk' is not in the PBX inventory; did you mean 'acme-hq'?"),
        ("initech", "'initech' is not in the PBX inventory"),
        ("", "required: the inventory alias of the target PBX"),
    ],
    ids=["typo", "unknown", "missing"],
)
def test_the_pbx_must_be_in_the_inventory(tmp_path: Path, alias: str, message: str) -> None:
    line = peer("a").replace("acme-hq", alias, 1)
    assert problems_of(batch(tmp_path, ("t.csv", f"{HEADER}\n{line}\n"))) == [
        Problem("t.csv", 2, "pbx", message)
    ]


def test_a_row_with_more_cells_than_the_header(tmp_path: Path) -> None:
    problems = problems_of(batch(tmp_path, ("t.csv", f"{HEADER}\n{peer('a')},surprise\n")))
    assert problems == [Problem("t.csv", 2, None, "the row has more cells than the header")]


def test_duplicate_names_per_pbx_across_files(tmp_path: Path) -> None:
    first = f"{HEADER}\n{peer('main')}\n{peer('dup-in-file')}\n{peer('dup-in-file')}\n"
    bad_first = peer("main2").replace("5060", "0")  # invalid for another reason
    second = "\n".join([
        HEADER, peer("main"), bad_first, peer("main2"),
        peer("main").replace("acme-hq", "globex"),  # the same name on another PBX is fine
        peer("main"),
    ])  # fmt: skip
    items = batch(tmp_path, ("first.csv", first), ("second.csv", f"{second}\n"))
    in_first = f"at {tmp_path / 'first.csv'} line 2"
    assert [(p.file, p.line, p.column, p.message) for p in problems_of(items)] == [
        ("first.csv", 4, "name", "'dup-in-file' is already used for PBX 'acme-hq' at line 3"),
        ("second.csv", 2, "name", f"'main' is already used for PBX 'acme-hq' {in_first}"),
        ("second.csv", 3, "port", "must be at least 1, got 0"),
        ("second.csv", 4, "name", "'main2' is already used for PBX 'acme-hq' at line 3"),
        ("second.csv", 6, "name", f"'main' is already used for PBX 'acme-hq' {in_first}"),
    ]  # fmt: skip


def test_a_duplicate_row_is_not_valid_even_when_it_is_otherwise_fine(tmp_path: Path) -> None:
    items = batch(tmp_path, ("t.csv", f"{HEADER}\n{peer('a')}\n{peer('a')}\n"))
    assert [row.request is not None for row in rows_of(items)] == [True, False]


# --- batches: validate_batch ------------------------------------------------------------------


def validate(tmp_path: Path, *files: tuple[str, str]) -> dict[str, object]:
    """validate_batch over these files with INVENTORY, as the `validate --json` object."""
    paths = [write(tmp_path, name, text) for name, text in files]
    report = validate_batch(paths, write(tmp_path, "pbxs.csv", INVENTORY)).as_json()
    for error in report["errors"]:
        error["file"] = Path(error["file"]).name
    return report


def test_the_examples_are_valid() -> None:
    report = validate_batch([EXAMPLES / "trunks.csv"], EXAMPLES / "pbxs.csv")
    assert report.as_json() == {"valid": 8, "invalid": 0, "errors": []}
    assert report.ok


def test_counts_and_errors_of_a_batch(tmp_path: Path) -> None:
    text = "\ufeff" + "\n".join([HEADER, peer("a"), peer("b").replace("ulaw", "mpeg4"), peer("c")])
    assert validate(tmp_path, ("t.csv", text.replace(",", ";"))) == {
        "valid": 2,
        "invalid": 1,
        "errors": [{"file": "t.csv", "line": 3, "column": "codec_sel",
                    "message": "'mpeg4' not valid for a peer trunk (valid: ulaw, alaw, g729, gsm, "
                               "h264, h263, h263p, ilbc, g722, g726, speex, adpcm, vp8, opus)"}],
    }  # fmt: skip


def test_a_file_with_a_bad_header_counts_no_rows(tmp_path: Path) -> None:
    report = validate(
        tmp_path,
        ("bad.csv", f"{HEADER},hostnme\n{peer('a')},x\n{peer('b')},y\n"),
        ("good.csv", f"{HEADER}\n{peer('c')}\n"),
    )
    assert report == {
        "valid": 1,
        "invalid": 0,
        "errors": [{"file": "bad.csv", "line": 1, "column": "hostnme",
                    "message": "unknown column 'hostnme'; did you mean 'hostname'?"}],
    }  # fmt: skip


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the file is empty: a header row is required"),
        (f"{HEADER}\n", "the batch has no trunk rows"),
    ],
    ids=["empty-file", "header-only"],
)
def test_a_batch_without_rows_is_invalid(tmp_path: Path, text: str, message: str) -> None:
    assert validate(tmp_path, ("t.csv", text)) == {
        "valid": 0,
        "invalid": 0,
        "errors": [{"file": "t.csv", "line": 1, "column": None, "message": message}],
    }


def test_a_header_only_file_beside_rows_is_fine(tmp_path: Path) -> None:
    report = validate(tmp_path, ("empty.csv", f"{HEADER}\n"), ("t.csv", f"{HEADER}\n{peer('a')}\n"))
    assert report == {"valid": 1, "invalid": 0, "errors": []}
