"""Uploads are named by the names they were sent with, never by a temporary path; and an
uploaded inventory reads no environment variable of the server's. (No I/O but temp files.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from api.jobs_api import NoEnvironment
from api.server import is_loopback, page_url
from api.uploads import display_name
from core.errors import UnreadableInputError
from producer.inventory import read_inventory
from producer.named_path import NamedPath
from producer.validation import check_batch

EXAMPLES = Path(__file__).parents[2] / "examples"


@pytest.mark.parametrize(
    ("sent", "shown"),
    [
        ("trunks.csv", "trunks.csv"), ("C:\\Users\\me\\trunks.csv", "trunks.csv"),
        ("../../etc/passwd", "passwd"), ("a\x1b[31mb.csv", "a?[31mb.csv"), ("", "trunks.csv"),
        (None, "trunks.csv"), ("x" * 300, "x" * 120),
    ],
)  # fmt: skip
def test_display_names_are_base_names_and_printable(sent: str | None, shown: str) -> None:
    assert display_name(sent, "trunks", set()) == shown


def test_two_uploads_of_one_name_are_told_apart() -> None:
    taken: set[str] = set()
    names = [display_name("t.csv", "trunks", taken) for _ in range(3)]
    assert names == ["t.csv", "t.csv (2)", "t.csv (3)"]


def test_problems_and_rows_name_the_upload(tmp_path: Path) -> None:
    stored = tmp_path / "upload-0"
    text = (EXAMPLES / "trunks.csv").read_text().splitlines()
    stored.write_text("\n".join([text[0], text[1], text[1]]) + "\n")  # line 3 repeats a name
    inventory = read_inventory(NamedPath(EXAMPLES / "pbxs.csv", "pbxs.csv"), environ={"X": "y"})
    rows: list[str] = []
    report = check_batch(
        [NamedPath(stored, "mine.csv"), NamedPath(stored, "mine.csv (2)")], inventory,
        on_row=lambda row: rows.append(row.file),
    )  # fmt: skip
    assert {problem.file for problem in report.problems} == {"mine.csv", "mine.csv (2)"}
    assert set(rows) == {"mine.csv", "mine.csv (2)"}
    assert all(str(tmp_path) not in problem.message for problem in report.problems)


def test_unreadable_uploads_name_the_upload(tmp_path: Path) -> None:
    stored = tmp_path / "upload-0"
    stored.write_bytes(b"name,pbx\n\xff\xfe,x\n")
    with pytest.raises(UnreadableInputError) as raised:
        check_batch([NamedPath(stored, "latin.csv")], read_inventory(EXAMPLES / "pbxs.csv", {}))
    assert str(raised.value) == "latin.csv: is not UTF-8 text: line 2 (invalid start byte)"


def test_an_upload_reads_no_environment_variable(tmp_path: Path) -> None:
    inventory = tmp_path / "upload-1"
    inventory.write_text(
        "pbx,base_url,client_id,client_secret\nhq,https://pbx.example.com,id,env:HOME\n"
    )
    read = read_inventory(NamedPath(inventory, "pbxs.csv"), NoEnvironment())
    assert [(p.file, p.line, p.column) for p in read.problems] == [("pbxs.csv", 2, "client_secret")]
    assert read.problems[0].message.startswith("env: secrets are read only by the CLI")
    assert not read.entries


@pytest.mark.parametrize(
    ("host", "loopback", "url"),
    [
        ("127.0.0.1", True, "http://127.0.0.1:8080/"),
        ("::1", True, "http://[::1]:8080/"),
        ("localhost", True, "http://localhost:8080/"),
        ("0.0.0.0", False, "http://127.0.0.1:8080/"),  # noqa: S104 - what it reads as
        ("::", False, "http://[::1]:8080/"),
        ("10.1.2.3", False, "http://10.1.2.3:8080/"),
        ("pbx-admin.example.com", False, "http://pbx-admin.example.com:8080/"),
    ],
)
def test_hosts(host: str, loopback: bool, url: str) -> None:
    assert is_loopback(host) is loopback
    assert page_url(host, 8080) == url
