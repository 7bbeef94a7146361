"""`trunkctl validate`: its output, the `--json` shape, and exit codes 0, 1 and 2.

Output is checked in-process with click's runner; exit codes through the entry point
(`run_guarded` maps errors to codes) and, for a few cases, the installed console script.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from trunkctl.cli import cli, main

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
HEADER = (
    "pbx,name,type,country,transport,hostname,port,domain,username,password,auth_name,codec_sel"
)
REGISTER = (
    "acme-hq,{name},register,general,udp,sip.example,5060,sip.example,6701,{password},6701,ulaw"
)
INVENTORY = "pbx,base_url,client_id,client_secret\nacme-hq,http://127.0.0.1:8090/p1,c1,{secret}\n"
GOOD_PASSWORD = "aAc1653249"
WEAK_PASSWORD = "weakpass"
CLIENT_SECRET = "the-client-secret-value"
SECRET_VARIABLE = "TRUNKCTL_TEST_CLIENT_SECRET"


def trunkctl_path() -> str:
    """The console script installed next to this interpreter (or on PATH)."""
    beside = Path(sys.executable).parent / "trunkctl"
    found = str(beside) if beside.exists() else shutil.which("trunkctl")
    assert found, "the trunkctl console script is not installed"
    return found


def register(name: str, password: str = GOOD_PASSWORD) -> str:
    """One register-trunk line of HEADER."""
    return REGISTER.format(name=name, password=password)


def write(path: Path, text: str) -> Path:
    """Write text as UTF-8 and return the path."""
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def pbxs(tmp_path: Path) -> Path:
    """An inventory of PBX acme-hq whose secret is a literal."""
    return write(tmp_path / "pbxs.csv", INVENTORY.format(secret=CLIENT_SECRET))


def invoke(*args: str | Path, env: dict[str, str | None] | None = None) -> tuple[int, str]:
    """`trunkctl validate ARGS` in-process: its exit code and stdout."""
    result = CliRunner().invoke(
        cli, ["validate", *map(str, args)], env=env, standalone_mode=False, catch_exceptions=False
    )
    return result.return_value, result.stdout


def invoke_json(*args: str | Path, env: dict[str, str | None] | None = None) -> tuple[int, Any]:
    """`trunkctl validate ARGS --json` in-process: its exit code and parsed stdout."""
    code, out = invoke(*args, "--json", env=env)
    return code, json.loads(out)


def error(file: Path, line: int, column: str | None, message: str) -> dict[str, Any]:
    """One entry of the "errors" list."""
    return {"file": str(file), "line": line, "column": column, "message": message}


# --- in-process: output and JSON shape --------------------------------------------------------


def test_the_examples_are_valid() -> None:
    code, out = invoke(EXAMPLES / "trunks.csv", "--pbxs", EXAMPLES / "pbxs.csv")
    assert (code, out) == (0, "8 valid, 0 invalid rows\n")
    code, report = invoke_json(EXAMPLES / "trunks.csv", "--pbxs", EXAMPLES / "pbxs.csv")
    assert (code, report) == (0, {"valid": 8, "invalid": 0, "errors": []})


def test_json_shape_of_an_invalid_batch(tmp_path: Path, pbxs: Path) -> None:
    lines = [HEADER, register("ok"), register("bad name"), register("ok"), register("ok2")]
    trunks = write(tmp_path / "trunks.csv", "\n".join(lines).replace("ok2,register", "ok2,trunk"))
    code, report = invoke_json(trunks, "--pbxs", pbxs)
    assert code == 1
    assert report == {
        "valid": 1,
        "invalid": 3,
        "errors": [
            error(trunks, 3, "name", "may contain only letters, digits, '_', '-' and '.' "
                  "(no spaces), got 'bad name'"),
            error(trunks, 4, "name", "'ok' is already used for PBX 'acme-hq' at line 2"),
            error(trunks, 5, "type", "must be one of register, peer, account, got 'trunk'"),
        ],
    }  # fmt: skip
    assert all(list(entry) == ["file", "line", "column", "message"] for entry in report["errors"])


DID_LIST_HEADER = f"{HEADER},did_list"
# A JSON cell may span lines (its line breaks are JSON whitespace), a name's cell may not.
THREE_LINE_ROW = register("a") + ',"[\n{""did"": ""5503308""}\n]"'


@pytest.mark.parametrize(
    ("text", "counts", "errors"),
    [
        ("\ufeff" + f"{HEADER}\n{register('a')}\n".replace(",", ";"), (1, 0), []),
        (f"\n{HEADER}\n\n{register('a')}\n\n", (1, 0), []),
        (f"{DID_LIST_HEADER}\n{THREE_LINE_ROW}\n\n{register('b b')},\n", (1, 1), [
            (6, "name", "may contain only letters, digits, '_', '-' and '.' (no spaces), "
             "got 'b b'"),
        ]),
        (f"{HEADER},Name\n{register('a')},b\n", (0, 0), [
            (1, "name", "column 'name' appears more than once"),
        ]),
        ("", (0, 0), [(1, None, "the file is empty: a header row is required")]),
        (f"{HEADER}\n", (0, 0), [(1, None, "the batch has no trunk rows")]),
    ],
    ids=[
        "bom-and-semicolons", "blank-lines", "row-after-a-3-line-cell", "repeated-column",
        "empty-file", "header-only",
    ],
)  # fmt: skip
def test_csv_edge_cases(
    tmp_path: Path,
    pbxs: Path,
    text: str,
    counts: tuple[int, int],
    errors: list[tuple[int, str | None, str]],
) -> None:
    trunks = write(tmp_path / "trunks.csv", text)
    code, report = invoke_json(trunks, "--pbxs", pbxs)
    assert code == (1 if errors else 0)
    assert (report["valid"], report["invalid"]) == counts
    assert report["errors"] == [error(trunks, *expected) for expected in errors]


def test_human_output_lists_problems_then_a_summary(tmp_path: Path, pbxs: Path) -> None:
    trunks = write(tmp_path / "trunks.csv", f"{HEADER}\n{register('a')}\n{register('a')}\n")
    code, out = invoke(trunks, "--pbxs", pbxs)
    assert code == 1
    assert out.splitlines() == [
        f"{trunks}:3: name: 'a' is already used for PBX 'acme-hq' at line 2",
        "",
        "1 valid, 1 invalid rows; 1 problem",
    ]


def test_duplicate_names_across_two_files(tmp_path: Path, pbxs: Path) -> None:
    first = write(tmp_path / "first.csv", f"{HEADER}\n{register('main', WEAK_PASSWORD)}\n")
    second = write(tmp_path / "second.csv", f"{HEADER}\n\n{register('main')}\n")
    code, report = invoke_json(first, second, "--pbxs", pbxs)
    assert code == 1
    assert report["errors"][1:] == [
        error(second, 3, "name", f"'main' is already used for PBX 'acme-hq' at {first} line 2")
    ]
    assert (report["valid"], report["invalid"]) == (0, 2)


@pytest.mark.parametrize("memory_limit", [1, 10_000], ids=["on-disk", "in-memory"])
def test_a_file_given_twice_repeats_every_name(
    tmp_path: Path, pbxs: Path, monkeypatch: pytest.MonkeyPatch, memory_limit: int
) -> None:
    monkeypatch.setattr("producer.name_index.MEMORY_LIMIT", memory_limit)
    trunks = write(tmp_path / "trunks.csv", f"{HEADER}\n{register('a')}\n{register('b')}\n")
    code, report = invoke_json(trunks, trunks, "--pbxs", pbxs)
    assert code == 1
    twice = f"at {trunks} line {{}} (the file is given more than once)"
    assert report["errors"] == [
        error(trunks, 2, "name", f"'a' is already used for PBX 'acme-hq' {twice.format(2)}"),
        error(trunks, 3, "name", f"'b' is already used for PBX 'acme-hq' {twice.format(3)}"),
    ]
    assert (report["valid"], report["invalid"]) == (2, 2)


def test_an_inventory_with_a_bad_header_is_its_one_error(tmp_path: Path) -> None:
    # Its rows were not read, so the trunk rows' aliases are not reported as missing from it.
    pbxs = write(tmp_path / "pbxs.csv", INVENTORY.replace("client_secret", "colour", 1))
    trunks = write(tmp_path / "trunks.csv", f"{HEADER}\n{register('a')}\n")
    code, report = invoke_json(trunks, "--pbxs", pbxs)
    assert code == 1
    [problem] = report["errors"]
    assert (problem["file"], problem["line"], problem["column"]) == (str(pbxs), 1, "colour")
    assert (report["valid"], report["invalid"]) == (1, 0)


def test_a_bad_header_is_one_error_at_line_1_and_no_rows_are_counted(
    tmp_path: Path, pbxs: Path
) -> None:
    bad = write(tmp_path / "bad.csv", f"{HEADER},codecs\n{register('a')},x\n{register('b')},y\n")
    good = write(tmp_path / "good.csv", f"{HEADER}\n{register('c')}\n")
    code, report = invoke_json(bad, good, "--pbxs", pbxs)
    assert (code, report) == (1, {
        "valid": 1,
        "invalid": 0,
        "errors": [error(bad, 1, "codecs", "unknown column 'codecs'; did you mean 'codec_sel'?")],
    })  # fmt: skip


def test_an_unknown_pbx_alias(tmp_path: Path, pbxs: Path) -> None:
    line = register("a").replace("acme-hq", "acme-hk")
    trunks = write(tmp_path / "trunks.csv", f"{HEADER}\n{line}\n")
    code, report = invoke_json(trunks, "--pbxs", pbxs)
    assert (code, report["errors"]) == (1, [
        error(trunks, 2, "pbx", "'acme-hk' is not in the PBX inventory; did you mean 'acme-hq'?")
    ])  # fmt: skip


def test_inventory_problems_are_reported_with_the_rows(tmp_path: Path) -> None:
    pbxs = write(tmp_path / "pbxs.csv", INVENTORY.format(secret="s") + "acme-hq,ftp://x,c,s\n")
    trunks = write(tmp_path / "trunks.csv", f"{HEADER}\n{register('a')}\n")
    code, report = invoke_json(trunks, "--pbxs", pbxs)
    assert (code, report) == (1, {
        "valid": 1,
        "invalid": 0,
        "errors": [error(pbxs, 3, "pbx", "'acme-hq' already defined on line 2")],
    })  # fmt: skip


@pytest.mark.parametrize(
    ("secret_value", "expected_errors"),
    [
        (CLIENT_SECRET, []),
        (None, [(3, "client_secret", f"environment variable {SECRET_VARIABLE} is not set")]),
    ],
    ids=["set", "unset"],
)
def test_client_secrets_from_the_environment(
    tmp_path: Path, secret_value: str | None, expected_errors: list[tuple[int, str, str]]
) -> None:
    pbxs = write(
        tmp_path / "pbxs.csv",
        INVENTORY.format(secret=CLIENT_SECRET) + f"globex,http://h,c,env:{SECRET_VARIABLE}\n",
    )
    trunks = write(tmp_path / "trunks.csv", f"{HEADER}\n{register('a')}\n")
    env = {SECRET_VARIABLE: secret_value}
    code, report = invoke_json(trunks, "--pbxs", pbxs, env=env)
    assert code == (1 if expected_errors else 0)
    assert [(e["line"], e["column"], e["message"]) for e in report["errors"]] == expected_errors
    code, out = invoke(trunks, "--pbxs", pbxs, env=env)
    assert CLIENT_SECRET not in out


def test_passwords_are_never_printed(tmp_path: Path, pbxs: Path) -> None:
    rows = [register("a", WEAK_PASSWORD), register("b", f" {WEAK_PASSWORD}"), register("a b", "")]
    trunks = write(tmp_path / "trunks.csv", "\n".join([HEADER, *rows]) + "\n")
    for as_json in ([], ["--json"]):
        code, out = invoke(trunks, "--pbxs", pbxs, *as_json)
        assert code == 1
        assert "password" in out
        assert WEAK_PASSWORD not in out


# --- exit codes through run_guarded, the console script's error mapping -------------------------


RunMain = Callable[..., tuple[int, str, str]]


@pytest.fixture
def run_main(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> RunMain:
    """`trunkctl ARGS` in-process through its entry point: exit code, stdout, stderr."""

    def run(*args: str | Path) -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "argv", ["trunkctl", *map(str, args)])
        with pytest.raises(SystemExit) as exc:
            main()
        out, err = capsys.readouterr()
        assert isinstance(exc.value.code, int)
        return exc.value.code, out, err

    return run


@pytest.mark.usefixtures("pbxs")
@pytest.mark.parametrize(
    ("trunks", "inventory", "problem"),
    [
        ("missing.csv", "pbxs.csv", "missing.csv: No such file or directory"),
        ("good.csv", "missing.csv", "missing.csv: No such file or directory"),
        ("latin1.csv", "pbxs.csv", "latin1.csv: is not UTF-8 text: line 2 (invalid start byte)"),
    ],
    ids=["missing-trunks-file", "missing-inventory", "not-utf8"],
)
def test_exit_2_for_an_unreadable_file(
    tmp_path: Path, run_main: RunMain, trunks: str, inventory: str, problem: str
) -> None:
    (tmp_path / "latin1.csv").write_bytes(f"{HEADER}\n{register('zürich')}\n".encode("latin-1"))
    write(tmp_path / "good.csv", f"{HEADER}\n{register('a')}\n")
    args = ("validate", tmp_path / trunks, "--pbxs", tmp_path / inventory, "--json")
    assert run_main(*args) == (2, "", f"error: {tmp_path}/{problem}\n")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["validate", EXAMPLES / "trunks.csv"], "Missing option '--pbxs'"),
        (["validate", "--pbxs", EXAMPLES / "pbxs.csv"], "Missing argument 'TRUNK_FILES...'"),
        (["validate", EXAMPLES, "--pbxs", EXAMPLES / "pbxs.csv"], "is a directory"),
        (["validate", EXAMPLES / "trunks.csv", "--pbxs", EXAMPLES, "--json"], "is a directory"),
    ],
    ids=["no-inventory", "no-trunk-files", "trunks-is-a-directory", "inventory-is-a-directory"],
)
def test_exit_2_for_a_usage_error(run_main: RunMain, args: list[str | Path], message: str) -> None:
    code, out, err = run_main(*args)
    assert (code, out) == (2, "")
    assert message in err


# --- the installed console script ---------------------------------------------------------------


def run_trunkctl(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """The installed `trunkctl` with these arguments."""
    return subprocess.run(
        [trunkctl_path(), *map(str, args)], capture_output=True, text=True, timeout=60, check=False
    )


def test_the_script_exits_0_for_a_valid_batch() -> None:
    done = run_trunkctl("validate", EXAMPLES / "trunks.csv", "--pbxs", EXAMPLES / "pbxs.csv")
    assert (done.returncode, done.stdout, done.stderr) == (0, "8 valid, 0 invalid rows\n", "")


def test_the_script_exits_1_with_json_on_stdout_for_invalid_data(
    tmp_path: Path, pbxs: Path
) -> None:
    trunks = write(tmp_path / "t.csv", f"{HEADER}\n{register('a', WEAK_PASSWORD)}\n")
    done = run_trunkctl("validate", trunks, "--pbxs", pbxs, "--json")
    assert done.returncode == 1
    report = json.loads(done.stdout)
    assert (report["valid"], report["invalid"]) == (0, 1)
    assert [(e["line"], e["column"]) for e in report["errors"]] == [(2, "password")]
    assert WEAK_PASSWORD not in done.stdout + done.stderr


def test_the_script_exits_2_without_a_traceback_for_a_file_that_is_not_utf8(
    tmp_path: Path, pbxs: Path
) -> None:
    trunks = tmp_path / "t.csv"
    trunks.write_bytes(b"\xff\xfe" + f"{HEADER}\n".encode("utf-16-le"))
    done = run_trunkctl("validate", trunks, "--pbxs", pbxs)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == f"error: {trunks}: is not UTF-8 text: line 1 (invalid start byte)\n"
