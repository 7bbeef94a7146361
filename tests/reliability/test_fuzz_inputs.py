"""Fuzzing: hostile bytes, cells, headers and file names into `validate` and `submit`.

Whatever the input, trunkctl answers with exit 0, 1 or 2 and no traceback; every problem line is
`file:line: ...`; nothing it prints can drive a terminal; and a refused submit leaves Redis as it
found it (no job, no queue). The CLI runs in-process through its entry point (`main`, whose
guard maps errors to exit codes) under click's CliRunner isolation, and a few known crashes run
through the installed script.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from unittest.mock import patch

import pytest
import redis
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.errors import TrunkctlError
from jobs.queue import TaskQueue
from jobs.store import JobStore
from producer.submit import Submitter
from trunkctl import context
from trunkctl.cli import main
from trunks.cells import TRUNK_COLUMNS
from trunks.text import printable

FUZZ = settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
VALID_ROW = {
    "pbx": "acme-hq", "name": "main", "type": "register", "country": "general",
    "transport": "udp", "hostname": "sip.example", "port": "5060", "domain": "sip.example",
    "username": "6701", "password": "aAc1653249", "auth_name": "6701", "codec_sel": "ulaw,alaw",
    "outbound_cid_list": '[{"outbound_cid_option": "shared", "outbound_cid": "5503301", '
    '"ext_list": [{"id": 12}]}]',
    "did_list": "5503308:Main;5503309",
}  # fmt: skip
INVENTORY_ROW = {
    "pbx": "acme-hq", "base_url": "http://127.0.0.1:8090/p1", "client_id": "c1",
    "client_secret": "s1", "max_inflight": "2", "min_interval_ms": "10", "timeout_s": "30",
}  # fmt: skip
_PARSED_COLUMNS = {
    "port", "outbound_cid_list", "did_list", "max_inflight", "min_interval_ms", "timeout_s",
}  # fmt: skip
SUMMARY = re.compile(r"\d+ valid, \d+ invalid rows(; \d+ problems?)?")

_NASTY = st.sampled_from([
    "\x00", "\x1b", "\x1b[31m", "\x1b]0;pwned\x07", "\x07", "\x7f", "\x9b2J", "\x85", "\t", "\r",
    "\n", "\r\n", "\u202e", "\u2028", "\ufeff", '"', '""', ",", ";", ":", "\\", "\\u001b", "env:",
    "nan", "inf", "-inf", "1e999", "-0", "+5", "0x10", "5060", "65536", "1", "0", "[]", "{}",
    "[{", "}]", '[{"id": 1e999999}]', '[{"id": NaN}]', '[{"did": "\\u001b[2J"}]',
])  # fmt: skip
_PIECES = st.one_of(
    st.text(max_size=16),  # any characters but surrogates: controls included
    _NASTY,
    st.integers(1, 3000).map(lambda n: "[" * n),
    st.integers(1, 6000).map(lambda n: "9" * n),
    st.integers(1000, 140_000).map(lambda n: "h" * n),
)
# What the parsers of some columns choke on, whole: deep JSON, long numbers, long cells.
_WHOLE_CELLS = st.one_of(
    st.integers(9, 3000).map(lambda n: "[" * n + "]" * n),
    st.integers(9, 3000).map(lambda n: "[" + '{"a":[' * n + "]}" * n + "]"),
    st.integers(9, 3000).map(lambda n: "[" * n),
    st.integers(21, 6000).map(lambda n: '[{"id": ' + "9" * n + "}]"),
    st.integers(6, 6000).map(lambda n: "-" + "9" * n),
    st.integers(1000, 70_000).map(lambda n: '[{"did": "1"}' + " " * n + "]"),
)
HOSTILE_CELLS = st.lists(_PIECES, max_size=4).map("".join) | _WHOLE_CELLS
_NASTY_BYTES = st.sampled_from([
    b"\x00", b"\xff", b"\xef\xbb\xbf", b"\xc3", b'"', b"\r", b"\n", b",", b";", b"\x1b[2J",
    b"[" * 1000, b"9" * 5000, b"\xc2\x9b",
])  # fmt: skip


def csv_bytes(rows: list[dict[str, str]], columns: list[str], delimiter: str = ",") -> bytes:
    """A well-formed CSV of these rows (quoting as a spreadsheet would)."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, delimiter=delimiter)
    writer.writerow(columns)
    writer.writerows([row.get(column, "") for column in columns] for row in rows)
    return out.getvalue().encode("utf-8", "surrogatepass")


VALID_TRUNKS = csv_bytes([VALID_ROW], list(VALID_ROW))
VALID_INVENTORY = csv_bytes([INVENTORY_ROW], list(INVENTORY_ROW))


@st.composite
def mutated(draw: st.DrawFn, original: bytes) -> bytes:
    """`original` with a few nasty byte strings inserted or written over it."""
    data = bytearray(original)
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data)))
        piece = draw(_NASTY_BYTES | st.binary(min_size=1, max_size=8))
        end = at + draw(st.integers(0, len(piece)))
        data[at:end] = piece
    return bytes(data)


RAW_FILES = st.one_of(
    st.binary(max_size=2000),
    st.binary(max_size=500).map(lambda tail: VALID_TRUNKS.split(b"\n")[0] + b"\n" + tail),
    mutated(VALID_TRUNKS),
)


@st.composite
def hostile_rows(draw: st.DrawFn, valid: dict[str, str]) -> dict[str, str]:
    """A valid row with a few of its cells (or new ones) made hostile."""
    row = dict(valid)
    # The columns with parsers of their own come up as often as all the others together.
    parsed = [c for c in valid if c in _PARSED_COLUMNS]
    columns = st.sampled_from(sorted(valid)) | st.sampled_from(parsed)
    for column in draw(st.lists(columns, min_size=1, max_size=3)):
        row[column] = draw(HOSTILE_CELLS)
    return row


@st.composite
def hostile_headers(draw: st.DrawFn) -> list[str]:
    """Valid columns with hostile names added or swapped in, sometimes very many."""
    columns = list(VALID_ROW)
    for _ in range(draw(st.integers(0, 3))):
        columns.insert(draw(st.integers(0, len(columns))), draw(HOSTILE_CELLS))
    if draw(st.booleans()):
        columns += [draw(st.sampled_from(["x", "", "name", "\x1b"]))] * draw(st.integers(150, 5000))
    return columns


# --- running the CLI ------------------------------------------------------------------------------


def _exit_code() -> int:
    with pytest.raises(SystemExit) as exited:
        main()
    assert isinstance(exited.value.code, int)
    return exited.value.code


def run_cli(*args: str | Path) -> tuple[int, str, str]:
    """`trunkctl ARGS` through its entry point, in-process: exit code, stdout, stderr."""
    argv = ["trunkctl", *map(str, args)]
    with CliRunner().isolation() as (out, err, _), patch.object(sys, "argv", argv):
        code = _exit_code()
    return code, out.getvalue().decode(), err.getvalue().decode()


@contextmanager
def files(*contents: bytes) -> Iterator[list[Path]]:
    """Each content as a file of a fresh directory."""
    with tempfile.TemporaryDirectory(prefix="trunkctl-fuzz-") as directory:
        paths = [Path(directory) / f"f{number}.csv" for number in range(len(contents))]
        for path, content in zip(paths, contents, strict=True):
            path.write_bytes(content)
        yield paths


def assert_answered(code: int, out: str, err: str, paths: list[Path]) -> list[str]:
    """The invariants of every answer; the problem lines (of exit 1), in order."""
    assert code in (0, 1, 2)
    assert "Traceback" not in out + err
    # Nothing printed can drive a terminal: input is escaped wherever it is echoed.
    assert all(char.isprintable() or char == "\n" for char in out + err), (out + err)[:2000]
    prefixes = tuple(f"{printable(str(path))}:" for path in paths)
    if code == 2:
        assert out == ""
        assert err.count("\n") == 1
        assert err.startswith(tuple(f"error: {prefix}" for prefix in prefixes)), err
        return []
    text = out if "valid, " in out else err
    lines = text.splitlines()
    problems = lines[: lines.index("")] if "" in lines else []
    for line in problems:
        assert line.startswith(prefixes), line
        assert re.match(r"\d+: ", line[len(next(p for p in prefixes if line.startswith(p))) :])
    return problems


def assert_validates(trunks: bytes, inventory: bytes = VALID_INVENTORY) -> None:
    """`validate`, as text and as JSON, answers within the invariants."""
    with files(trunks, inventory) as paths:
        code, out, err = run_cli("validate", paths[0], "--pbxs", paths[1])
        problems = assert_answered(code, out, err, paths)
        if code != 2:
            assert SUMMARY.fullmatch(out.splitlines()[-1]), out[-500:]
            assert bool(problems) == (code == 1)
        json_code, json_out, json_err = run_cli(
            "validate", *paths[:1], "--pbxs", paths[1], "--json"
        )
    assert json_code == code
    if code == 2:
        assert json_err == err
        return
    report = json.loads(json_out)
    assert len(report["errors"]) == len(problems)
    assert all(list(error) == ["file", "line", "column", "message"] for error in report["errors"])
    assert all(isinstance(error["line"], int) and error["line"] >= 1 for error in report["errors"])
    assert "\x1b" not in json_out  # JSON escapes control characters


# --- validate -------------------------------------------------------------------------------------


@FUZZ
@given(trunks=RAW_FILES)
def test_validate_any_bytes_as_the_trunks_file(trunks: bytes) -> None:
    assert_validates(trunks)


@FUZZ
@given(inventory=st.one_of(st.binary(max_size=1000), mutated(VALID_INVENTORY)))
def test_validate_any_bytes_as_the_inventory(inventory: bytes) -> None:
    assert_validates(VALID_TRUNKS, inventory)


@FUZZ
@given(
    rows=st.lists(hostile_rows(VALID_ROW), min_size=1, max_size=3),
    delimiter=st.sampled_from([",", ";"]),
)
def test_validate_hostile_trunk_cells(rows: list[dict[str, str]], delimiter: str) -> None:
    assert_validates(csv_bytes(rows, list(TRUNK_COLUMNS), delimiter))


@FUZZ
@given(rows=st.lists(hostile_rows(INVENTORY_ROW), min_size=1, max_size=2))
def test_validate_hostile_inventory_cells(rows: list[dict[str, str]]) -> None:
    assert_validates(VALID_TRUNKS, csv_bytes(rows, [*INVENTORY_ROW, "ca_file", "verify_tls"]))


@FUZZ
@given(columns=hostile_headers())
def test_validate_hostile_headers(columns: list[str]) -> None:
    row = {column: VALID_ROW.get(column, "x") for column in columns}
    assert_validates(csv_bytes([row], columns))


_FILE_NAMES = st.one_of(
    st.text(min_size=1, max_size=30).map(lambda text: text.replace("/", "_").replace("\x00", "_")),
    st.binary(min_size=1, max_size=30).map(  # bytes that may not be UTF-8 (surrogates in str)
        lambda data: os.fsdecode(data.replace(b"/", b"_").replace(b"\x00", b"_"))
    ),
).filter(lambda name: name not in (".", "..") and len(os.fsencode(name)) < 200)


@FUZZ
@given(name=_FILE_NAMES, valid=st.booleans())
def test_file_names_are_shown_escaped(name: str, valid: bool) -> None:
    with tempfile.TemporaryDirectory(prefix="trunkctl-fuzz-") as directory:
        trunks = Path(directory) / name
        trunks.write_bytes(VALID_TRUNKS if valid else VALID_TRUNKS.replace(b"main", b"a b"))
        inventory = Path(directory) / "pbxs.csv"
        inventory.write_bytes(VALID_INVENTORY)
        code, out, err = run_cli("validate", trunks, "--pbxs", inventory)
        problems = assert_answered(code, out, err, [trunks])
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        assert (code, err.endswith(": its name is not UTF-8 text (rename the file)\n")) == (2, True)
    else:
        assert (code, bool(problems)) == ((0, False) if valid else (1, True))


# --- submit ---------------------------------------------------------------------------------------


@pytest.fixture
def cli_redis(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[redis.Redis]:
    """The test database as the CLI's Redis (the CLI's settings and clients made afresh)."""
    monkeypatch.setenv("TRUNKCTL_REDIS_URL", redis_url)
    context.settings.cache_clear()
    context.job_store.cache_clear()
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()
    context.settings.cache_clear()
    context.job_store.cache_clear()


def assert_submits_or_leaves_nothing(client: redis.Redis, trunks: bytes, inventory: bytes) -> None:
    """`submit` answers within the invariants; refused, it stores and queues nothing."""
    client.flushdb()
    with files(trunks, inventory) as paths:
        code, out, err = run_cli("submit", paths[0], "--pbxs", paths[1])
    assert_answered(code, out, err, paths)
    if code == 0:
        assert re.fullmatch(r"\S+\n", out)
        return
    assert client.dbsize() == 0, client.keys("*")[:10]
    if code == 1:
        assert err.splitlines()[-1].startswith("nothing queued: ")


@FUZZ
@given(trunks=RAW_FILES)
def test_submit_any_bytes(cli_redis: redis.Redis, trunks: bytes) -> None:
    assert_submits_or_leaves_nothing(cli_redis, trunks, VALID_INVENTORY)


@FUZZ
@given(
    rows=st.lists(hostile_rows(VALID_ROW), min_size=1, max_size=3),
    inventory=st.lists(hostile_rows(INVENTORY_ROW), max_size=1),
)
def test_submit_hostile_cells(
    cli_redis: redis.Redis, rows: list[dict[str, str]], inventory: list[dict[str, str]]
) -> None:
    inventory_csv = csv_bytes(inventory, list(INVENTORY_ROW)) if inventory else VALID_INVENTORY
    assert_submits_or_leaves_nothing(cli_redis, csv_bytes(rows, list(TRUNK_COLUMNS)), inventory_csv)


@FUZZ
@given(
    trunks=st.one_of(RAW_FILES, st.lists(hostile_rows(VALID_ROW), min_size=1, max_size=2).map(
        lambda rows: csv_bytes(rows, list(TRUNK_COLUMNS))
    )),
    skip_invalid=st.booleans(),
)  # fmt: skip
def test_the_submitter_refuses_without_a_trace(
    redis_url: str, trunks: bytes, skip_invalid: bool
) -> None:
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    submitter = Submitter(JobStore(client, 3600), TaskQueue(client, "fuzz"))
    with files(trunks, VALID_INVENTORY) as paths:
        try:
            result = submitter.submit(paths[:1], paths[1], skip_invalid=skip_invalid)
        except TrunkctlError:  # an unreadable file: refused before anything is stored
            result = None
    if result is None or result.job_id is None:
        assert client.dbsize() == 0, client.keys("*")[:10]
    else:
        assert result.queued + result.rejected == result.report.valid + result.report.invalid
    client.close()


# --- the installed script, on the crashes fuzzing found -------------------------------------------


ESC_RED = "\x1b[31mred"


def _header(*extra: str) -> str:
    return ",".join([*VALID_ROW, *extra])


def _row(**cells: str) -> str:
    return csv_bytes([{**VALID_ROW, **cells}], list(VALID_ROW)).decode().splitlines()[1]


@pytest.mark.parametrize(
    "text",
    [
        f"{_header()}\n{_row(outbound_cid_list='[' * 1000 + ']' * 1000)}\n",
        f"{_header()}\n{_row(port='1' * 4300)}\n",
        ",".join(["a"] * 100_000) + "\n",
        f"{_header()}\n{_row(hostname='h' * 131_072)}\n",
        f"{_header()}\n{_row(hostname='h' * 200_000)}\n",
        f"{_header(ESC_RED)}\n{_row()},x\n",
    ],
    ids=[
        "json-1000-deep", "4300-digit-port", "100k-columns", "131072-char-hostname",
        "200k-char-cell", "esc-in-a-header",
    ],
)  # fmt: skip
def test_the_script_answers_the_known_crashes_in_one_line(tmp_path: Path, text: str) -> None:
    trunks = tmp_path / "t.csv"
    trunks.write_text(text, encoding="utf-8")
    inventory = tmp_path / "pbxs.csv"
    inventory.write_bytes(VALID_INVENTORY)
    script = Path(sys.executable).parent / "trunkctl"
    done = subprocess.run(
        [script, "validate", trunks, "--pbxs", inventory],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode in (1, 2)
    assert "Traceback" not in done.stderr
    assert "\x1b" not in done.stdout + done.stderr
    lines = (done.stdout or done.stderr).splitlines()
    assert lines[0].startswith((f"{trunks}:1: ", f"{trunks}:2: ", f"error: {trunks}: "))
    assert len(lines) <= 3
