"""Hostile files: size caps, FIFOs and devices, huge headers, rows and cells, escapes in names.

Each is refused with one line naming the file (and line), within bounds of time and memory; the
crashes found by fuzzing are kept here as regressions, through `trunkctl validate` itself.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from core.errors import UnreadableInputError
from producer.batch import read_batch
from producer.csv_reader import HeaderProblem, open_table
from producer.input_files import DEFAULT_LIMITS, KIB, MIB, InputLimits, SizeCap, read_capped
from producer.inventory import read_inventory
from producer.problems import Problem
from trunkctl import context
from trunkctl.cli import main
from trunks.cells import TRUNK_COLUMNS

HEADER = "pbx,name,type,country,transport,hostname,port,domain,codec_sel,outbound_cid_list"
PEER = "acme-hq,{name},peer,general,udp,{hostname},{port},203.0.113.10,ulaw,{cids}"
INVENTORY = "pbx,base_url,client_id,client_secret\nacme-hq,http://127.0.0.1:8090/p1,c1,s1\n"
SMALL_CAP = SizeCap(256 * KIB, "MAX_TRUNKS_FILE_MB")


def peer(name: str = "a", hostname: str = "sip.example", port: str = "5060", cids: str = "") -> str:
    """One peer-trunk line of HEADER for PBX acme-hq."""
    return PEER.format(name=name, hostname=hostname, port=port, cids=cids)


def write(path: Path, text: str) -> Path:
    """Write text as UTF-8 and return the path."""
    path.write_bytes(text.encode())
    return path


def header_problems(path: Path) -> list[HeaderProblem]:
    """The header problems of a trunks CSV."""
    with open_table(path, TRUNK_COLUMNS) as table:
        return table.problems


def unreadable(path: Path, limits: InputLimits = DEFAULT_LIMITS) -> str:
    """The message of the UnreadableInputError that reading a trunks CSV raises."""
    with pytest.raises(UnreadableInputError) as exc:
        list(read_batch([path], {"acme-hq"}, limits))
    return str(exc.value)


# --- size caps ----------------------------------------------------------------------------------


def test_a_file_over_its_cap_is_refused_from_its_size(tmp_path: Path) -> None:
    big = tmp_path / "big.csv"
    with big.open("wb") as out:
        out.truncate(60 * MIB)  # sparse: refused without a byte read
    assert unreadable(big) == (
        f"{big}: is larger than 50 MiB (the limit set by TRUNKCTL_MAX_TRUNKS_FILE_MB)"
    )


def test_the_cap_is_counted_while_reading_a_device(tmp_path: Path) -> None:
    # /dev/zero has no size to check: its first "line" is refused as too long to be a header.
    assert unreadable(Path("/dev/zero")) == (
        "/dev/zero: line 1: the header row is longer than 205,400 characters "
        "(at most 200 names of at most 1,024)"
    )


@pytest.fixture
def endless_pipe() -> Iterator[Path]:
    """A pipe (as a path) fed a valid header and rows until its reader goes away."""
    read_fd, write_fd = os.pipe()

    def feed() -> None:
        rows = "".join(f"{peer(f'n{number}')}\n" for number in range(100)).encode()
        try:
            os.write(write_fd, f"{HEADER}\n".encode())
            while True:
                os.write(write_fd, rows)
        except OSError:  # BrokenPipeError: every reader is gone
            os.close(write_fd)

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    yield Path(f"/dev/fd/{read_fd}")
    os.close(read_fd)
    feeder.join(timeout=10)
    assert not feeder.is_alive()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/dev/fd reopens pipes on Linux")
def test_an_endless_pipe_is_refused_at_its_cap(endless_pipe: Path) -> None:
    limits = InputLimits(trunks=SMALL_CAP)
    assert unreadable(endless_pipe, limits) == (
        f"{endless_pipe}: is larger than 256 KiB (the limit set by TRUNKCTL_MAX_TRUNKS_FILE_MB)"
    )


def test_a_fifo_without_a_writer_reads_as_empty_instead_of_hanging(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo.csv"
    os.mkfifo(fifo)
    assert header_problems(fifo) == [
        HeaderProblem(None, "the file is empty: a header row is required")
    ]


def test_read_capped_reads_a_small_file_whole(tmp_path: Path) -> None:
    path = tmp_path / "small"
    path.write_bytes(b"x" * 1024)
    assert read_capped(path, SizeCap(1024, "X")) == b"x" * 1024
    path.write_bytes(b"x" * 1025)
    with pytest.raises(UnreadableInputError, match=r"is larger than 1 KiB \(the limit set by"):
        read_capped(path, SizeCap(1024, "X"))


# --- headers ------------------------------------------------------------------------------------


def test_a_100k_column_header_is_refused_at_once(tmp_path: Path) -> None:
    path = write(tmp_path / "wide.csv", ",".join(["a"] * 100_000) + "\n" + "x\n" * 10)
    assert header_problems(path) == [HeaderProblem(None, "the header has more than 200 columns")]


@pytest.mark.parametrize(
    ("names", "refused"),
    [(200, False), (201, True)],
    ids=["200-columns", "201-columns"],
)
def test_the_column_cap_is_200(tmp_path: Path, names: int, refused: bool) -> None:
    path = write(tmp_path / "t.csv", ",".join(f"c{n}" for n in range(names)) + "\n")
    problems = header_problems(path)
    assert (problems == [HeaderProblem(None, "the header has more than 200 columns")]) == refused
    assert len(problems) == (1 if refused else names)  # else each an unknown column


def test_columns_past_a_line_break_in_a_quoted_name_count_too(tmp_path: Path) -> None:
    path = write(tmp_path / "t.csv", 'pbx,"na\nme",' + ",".join(["x"] * 300) + "\n")
    assert header_problems(path) == [HeaderProblem(None, "the header has more than 200 columns")]


def test_an_over_long_column_name_is_not_echoed(tmp_path: Path) -> None:
    path = write(tmp_path / "t.csv", "pbx," + "n" * 1025 + "\n")
    assert header_problems(path) == [
        HeaderProblem(None, "column 2 has a name longer than 1,024 characters")
    ]


def test_an_unknown_column_is_quoted_and_cut_short(tmp_path: Path) -> None:
    path = write(tmp_path / "t.csv", "pbx," + "hostname" * 100 + "\n")
    [problem] = header_problems(path)
    assert problem.message == (
        f"unknown column {'hostname' * 100!r:.61}'... (800 characters); the closest valid "
        "column is 'hostname'"
    )


# --- rows and cells that the csv module itself cannot take ---------------------------------------


def test_a_cell_past_the_csv_module_s_limit_is_unreadable(tmp_path: Path) -> None:
    path = write(tmp_path / "t.csv", f"{HEADER}\n{peer()}\n{peer('b', 'h' * 200_000)}\n")
    assert unreadable(path) == (
        f"{path}: line 3: a cell is longer than 131,072 characters (no column takes more than "
        "65,536)"
    )


@pytest.mark.parametrize(
    "row",
    [peer() + "," + ",".join(["x"] * 600_000), peer() + "," + '"x\n",' * 300_000],
    ids=["one-long-line", "many-lines-of-one-quoted-cell"],
)
def test_a_row_past_a_mebibyte_is_unreadable(tmp_path: Path, row: str) -> None:
    path = write(tmp_path / "t.csv", f"{HEADER}\n\n{row}\n")
    assert unreadable(path) == f"{path}: line 3: a row is longer than 1,048,576 characters"


# --- the inventory ------------------------------------------------------------------------------


def inventory_problems(tmp_path: Path, extra_header: str, extra_cells: str) -> list[Problem]:
    """The problems of a one-row inventory with these extra columns."""
    path = write(
        tmp_path / "pbxs.csv",
        f"pbx,base_url,client_id,client_secret{extra_header}\n"
        f"acme-hq,https://pbx.example:8088,c1,s1{extra_cells}\n",
    )
    return [
        Problem(Path(p.file).name, p.line, p.column, p.message)
        for p in read_inventory(path, environ={}).problems
    ]


@pytest.mark.parametrize(
    ("cells", "message"),
    [
        ("nan", "must be a number of seconds, got 'nan'"),
        ("inf", "must be a number of seconds, got 'inf'"),
        ("1e999", "must be a number of seconds, got '1e999'"),
        ("9" * 1000, "must be at most 3600"),
        ("-" + "9" * 1000, "must be more than 0"),
        ("0." + "0" * 1000 + "1", "must be more than 0"),
        ("9" * 10_000, "is longer than 1,024 characters (10,000)"),
    ],
    ids=["nan", "inf", "exponent", "1000-digits", "negative", "tiny", "10k-digits"],
)
def test_timeouts_are_read_only_as_plain_decimals_that_fit(
    tmp_path: Path, cells: str, message: str
) -> None:
    assert inventory_problems(tmp_path, ",timeout_s", f",{cells}") == [
        Problem("pbxs.csv", 2, "timeout_s", message)
    ]


@pytest.mark.parametrize(
    ("column", "cells", "message"),
    [
        ("max_inflight", "1" * 1000,
         f"must be at most 1000, got '{'1' * 60}'... (1,000 characters)"),
        ("min_interval_ms", "9" * 4300, "is longer than 1,024 characters (4,300)"),
        ("min_interval_ms", "36000000", "must be at most 3600000, got '36000000'"),
        ("api_path", "open\x1bapi", "holds control character U+001B (ESC) at character 5"),
    ],
    ids=["1000-digit-inflight", "4300-digit-interval", "8-digit-interval", "esc-in-api-path"],
)  # fmt: skip
def test_inventory_cells_within_bounds(
    tmp_path: Path, column: str, cells: str, message: str
) -> None:
    assert inventory_problems(tmp_path, f",{column}", f",{cells}") == [
        Problem("pbxs.csv", 2, column, message)
    ]


def test_a_client_secret_with_a_control_character_is_not_shown(tmp_path: Path) -> None:
    path = write(
        tmp_path / "pbxs.csv", f"{INVENTORY.splitlines()[0]}\nacme-hq,http://h,c,S3cr\x1bt\n"
    )
    [problem] = read_inventory(path, environ={}).problems
    assert (problem.column, problem.message) == ("client_secret", "holds a control character")


def test_an_alias_with_a_control_character_is_not_an_alias(tmp_path: Path) -> None:
    path = write(tmp_path / "pbxs.csv", f"{INVENTORY}acme\x1b,http://h,c,s\n")
    inventory = read_inventory(path, environ={})
    assert inventory.aliases == {"acme-hq"}
    assert [(p.line, p.column) for p in inventory.problems] == [(3, "pbx")]


@pytest.mark.parametrize(
    ("ca_file", "message"),
    [
        ("/dev/zero", "cannot read '/dev/zero': is larger than 1 MiB (the limit set by "
         "TRUNKCTL_MAX_CA_FILE_KB)"),
        ("~no-such-user-here/ca.pem", "cannot read '~no-such-user-here/ca.pem': no such user's "
         "home directory"),
    ],
    ids=["dev-zero", "unknown-user"],
)  # fmt: skip
def test_ca_files_that_cannot_be_read(tmp_path: Path, ca_file: str, message: str) -> None:
    assert inventory_problems(tmp_path, ",ca_file", f",{ca_file}") == [
        Problem("pbxs.csv", 2, "ca_file", message)
    ]


def test_a_ca_file_that_is_a_fifo_without_a_writer_holds_no_certificate(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "ca.pem")
    [problem] = inventory_problems(tmp_path, ",ca_file", ",ca.pem")
    assert problem.message.endswith("holds no PEM certificate (-----BEGIN CERTIFICATE-----)")


def test_a_ca_file_of_many_unended_certificates_is_read_in_one_pass(tmp_path: Path) -> None:
    # Each BEGIN without an END would make the pattern scan to the end of the file again.
    (tmp_path / "ca.pem").write_text("-----BEGIN CERTIFICATE-----\n" * 35_000)
    [problem] = inventory_problems(tmp_path, ",ca_file", ",ca.pem")
    assert problem.message.endswith("holds no PEM certificate (-----BEGIN CERTIFICATE-----)")


# --- through `trunkctl validate`: the crashes found by fuzzing ----------------------------------


RunMain = Callable[..., tuple[int, str, str]]


@pytest.fixture
def run_main(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> RunMain:
    """`trunkctl ARGS` in-process through its entry point: exit code, stdout, stderr."""

    def run(*args: str | Path) -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "argv", ["trunkctl", *map(str, args)])
        context.settings.cache_clear()  # settings are read once per run: this is a new run
        with pytest.raises(SystemExit) as exc:
            main()
        context.settings.cache_clear()
        out, err = capsys.readouterr()
        assert isinstance(exc.value.code, int)
        return exc.value.code, out, err

    return run


@pytest.fixture
def pbxs(tmp_path: Path) -> Path:
    """An inventory of PBX acme-hq."""
    return write(tmp_path / "pbxs.csv", INVENTORY)


@pytest.mark.parametrize(
    "case",
    [
        (peer(cids='"' + "[" * 1000 + "]" * 1000 + '"'), "outbound_cid_list",
         "nests deeper than 8 levels"),
        (peer(port="1" * 4300), "port", "is longer than 1,024 characters (4,300)"),
        (peer(hostname="h" * 131_072), "hostname", "is longer than 1,024 characters (131,072)"),
        (peer(hostname="sip\x00.example"), "hostname",
         "holds control character U+0000 (NUL) at character 4"),
    ],
    ids=["json-1000-deep", "4300-digit-port", "131072-char-hostname", "nul-in-hostname"],
)  # fmt: skip
def test_hostile_cells_are_one_line_each(
    tmp_path: Path, pbxs: Path, run_main: RunMain, case: tuple[str, str, str]
) -> None:
    row, column, message = case
    trunks = write(tmp_path / "t.csv", f"{HEADER}\n{row}\n")
    code, out, err = run_main("validate", trunks, "--pbxs", pbxs)
    assert (code, err) == (1, "")
    assert out.splitlines() == [
        f"{trunks}:2: {column}: {message}",
        "",
        "0 valid, 1 invalid rows; 1 problem",
    ]


def test_dev_zero_as_the_trunks_file_or_the_inventory(pbxs: Path, run_main: RunMain) -> None:
    too_long = (
        "the header row is longer than 205,400 characters (at most 200 names of at most 1,024)"
    )
    assert run_main("validate", "/dev/zero", "--pbxs", pbxs) == (
        2, "", f"error: /dev/zero: line 1: {too_long}\n"
    )  # fmt: skip
    assert run_main("validate", pbxs, "--pbxs", "/dev/zero") == (
        2, "", f"error: /dev/zero: line 1: {too_long}\n"
    )  # fmt: skip


def test_dev_zero_as_a_ca_file(tmp_path: Path, run_main: RunMain) -> None:
    pbxs = write(
        tmp_path / "pbxs.csv",
        INVENTORY.replace("\n", ",ca_file\n", 1).replace("s1", "s1,/dev/zero"),
    )
    trunks = write(tmp_path / "t.csv", f"{HEADER}\n{peer()}\n")
    code, out, _ = run_main("validate", trunks, "--pbxs", pbxs, "--json")
    assert code == 1
    assert json.loads(out)["errors"] == [
        {"file": str(pbxs), "line": 2, "column": "ca_file", "message": "cannot read '/dev/zero': "
         "is larger than 1 MiB (the limit set by TRUNKCTL_MAX_CA_FILE_KB)"},
    ]  # fmt: skip


def test_the_trunks_file_cap_is_a_setting(
    tmp_path: Path, pbxs: Path, run_main: RunMain, monkeypatch: pytest.MonkeyPatch
) -> None:
    trunks = write(tmp_path / "t.csv", f"{HEADER}\n" + f"{peer()}\n" * 20_000)  # about 1.3 MiB
    monkeypatch.setenv("TRUNKCTL_MAX_TRUNKS_FILE_MB", "1")
    assert run_main("validate", trunks, "--pbxs", pbxs) == (
        2, "", f"error: {trunks}: is larger than 1 MiB (the limit set by "
        "TRUNKCTL_MAX_TRUNKS_FILE_MB)\n",
    )  # fmt: skip
    monkeypatch.setenv("TRUNKCTL_MAX_TRUNKS_FILE_MB", "2")
    code, out, _ = run_main("validate", trunks, "--pbxs", pbxs)
    assert (code, out.splitlines()[-1]) == (1, "1 valid, 19999 invalid rows; 19999 problems")


def test_a_100k_column_header_is_one_line(tmp_path: Path, pbxs: Path, run_main: RunMain) -> None:
    trunks = write(tmp_path / "t.csv", ",".join(f"c{n}" for n in range(100_000)) + "\n")
    assert run_main("validate", trunks, "--pbxs", pbxs) == (
        1, f"{trunks}:1: the header has more than 200 columns\n\n"
        "0 valid, 0 invalid rows; 1 problem\n", "",
    )  # fmt: skip


def test_an_escape_in_a_header_name_shows_as_text(
    tmp_path: Path, pbxs: Path, run_main: RunMain
) -> None:
    trunks = write(tmp_path / "t.csv", f"{HEADER},\x1b[31mRed\x9b2J\n{peer()},x\n")
    code, out, _ = run_main("validate", trunks, "--pbxs", pbxs)
    assert code == 1
    assert out.splitlines()[0] == (
        f"{trunks}:1: \\x1b[31mred\\x9b2j: unknown column '\\x1b[31mred\\x9b2j'; the closest "
        "valid column is 'name'"
    )
    assert "\x1b" not in out
    assert "\x9b" not in out
    code, out, _ = run_main("validate", trunks, "--pbxs", pbxs, "--json")
    [error] = json.loads(out)["errors"]
    assert error["column"] == "\x1b[31mred\x9b2j"  # as read (trimmed, lower-cased)
    assert "\x1b" not in out  # JSON writes it as \u001b


def test_an_escape_in_a_file_name_shows_as_text(
    tmp_path: Path, pbxs: Path, run_main: RunMain
) -> None:
    trunks = write(tmp_path / "\x1b]0;title\x07.csv", f"{HEADER}\n{peer('a b')}\n")
    shown = f"{tmp_path}/\\x1b]0;title\\x07.csv"
    code, out, _ = run_main("validate", trunks, "--pbxs", pbxs)
    assert code == 1
    assert out.splitlines()[0].startswith(f"{shown}:2: name: ")
    missing = tmp_path / "\x1b[2Jmissing.csv"
    assert run_main("validate", missing, "--pbxs", pbxs) == (
        2, "", f"error: {tmp_path}/\\x1b[2Jmissing.csv: No such file or directory\n"
    )  # fmt: skip


# --- a flood of problems --------------------------------------------------------------------------


def test_problems_past_the_listing_cap_are_counted_not_kept(
    tmp_path: Path, pbxs: Path, run_main: RunMain, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("producer.problems.MAX_LISTED_PROBLEMS", 3)
    rows = "".join(f"{peer(port='0')}\n".replace(",a,", f",n{number},") for number in range(6))
    trunks = write(tmp_path / "t.csv", f"{HEADER}\n{rows}")
    code, out, _ = run_main("validate", trunks, "--pbxs", pbxs, "--json")
    assert code == 1
    report = json.loads(out)
    assert (report["valid"], report["invalid"]) == (0, 6)
    assert [(error["line"], error["column"]) for error in report["errors"]] == [
        (2, "port"), (3, "port"), (4, "port"), (5, None)
    ]  # fmt: skip
    assert report["errors"][-1]["message"] == (
        "3 more problems not listed, from here on (only the first 3 are)"
    )


def test_a_file_name_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    # Its items would carry the name into Redis, which takes UTF-8 text only.
    trunks = Path(os.fsdecode(os.fsencode(tmp_path) + b"/t\xff.csv"))
    write(trunks, f"{HEADER}\n{peer()}\n")
    assert unreadable(trunks) == (
        f"{tmp_path}/t\\udcff.csv: its name is not UTF-8 text (rename the file)"
    )
