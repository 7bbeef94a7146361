"""The inventory CSV of PBXs (`--pbxs`): entries, defaults, secrets and every kind of mistake."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import UnreadableInputError
from producer.inventory import read_inventory
from producer.problems import Problem
from tests.tls_certificates import self_signed
from trunks.pbx import PbxEntry

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SECRET = "s3cr3t-value"
ENVIRON = {"ACME_SECRET": SECRET}
FINGERPRINT = "AB:" * 31 + "AB"
PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


def inventory_text(*rows: dict[str, str]) -> str:
    """An inventory CSV with the union of the rows' columns, in first-seen order."""
    columns = list(dict.fromkeys(column for row in rows for column in row))
    lines = [",".join(columns)] + [",".join(row.get(c, "") for c in columns) for row in rows]
    return "\n".join(lines) + "\n"


def entry(**changes: str) -> dict[str, str]:
    """A valid inventory row with some cells changed."""
    return {
        "pbx": "acme-hq", "base_url": "https://pbx.acme.example:8088", "client_id": "client-001",
        "client_secret": "env:ACME_SECRET", **changes,
    }  # fmt: skip


def read(tmp_path: Path, text: str) -> tuple[dict[str, PbxEntry], list[Problem]]:
    """The entries and problems of an inventory with this text (ENVIRON as the environment)."""
    path = tmp_path / "pbxs.csv"
    path.write_text(text, encoding="utf-8")
    inventory = read_inventory(path, environ=ENVIRON)
    problems = [Problem(Path(p.file).name, p.line, p.column, p.message) for p in inventory.problems]
    return inventory.entries, problems


def test_the_example_inventory() -> None:
    inventory = read_inventory(EXAMPLES / "pbxs.csv", environ={})
    assert inventory.problems == []
    assert inventory.aliases == {"acme-hq", "acme-branch", "globex"}
    globex = inventory.entries["globex"]
    assert (globex.max_inflight, globex.min_interval_ms, globex.timeout_s) == (2, 100, 30.0)
    assert globex.api_url == "http://127.0.0.1:8090/pbx-003/openapi/v1.0"


def test_defaults_of_the_optional_columns(tmp_path: Path) -> None:
    entries, problems = read(tmp_path, inventory_text(entry()))
    assert problems == []
    assert entries["acme-hq"].public_fields() == {
        "pbx": "acme-hq", "base_url": "https://pbx.acme.example:8088", "client_id": "client-001",
        "api_path": "openapi/v1.0", "verify_tls": True, "tls_fingerprint": None,
        "max_inflight": 1, "min_interval_ms": 0, "timeout_s": 30.0,
    }  # fmt: skip


def test_every_optional_column_is_read(tmp_path: Path) -> None:
    made = self_signed(tmp_path / "certs")
    row = entry(
        base_url="http://10.0.0.5/pbx/", api_path="/api/v2/", verify_tls="YES",
        ca_file="certs/cert.pem", tls_fingerprint=FINGERPRINT, max_inflight="4",
        min_interval_ms="250", timeout_s="2.5",
    )  # fmt: skip
    entries, problems = read(tmp_path, inventory_text(row))
    assert problems == []
    acme = entries["acme-hq"]
    assert acme.api_url == "http://10.0.0.5/pbx/api/v2"
    assert acme.verify_tls is True
    assert acme.ca_pem == made.cert_file.read_text(encoding="utf-8")
    assert acme.tls_fingerprint == "ab" * 32
    assert (acme.max_inflight, acme.min_interval_ms, acme.timeout_s) == (4, 250, 2.5)


def test_only_the_certificates_of_a_ca_file_are_kept(tmp_path: Path) -> None:
    # A file holding the key too (a PBX's certificate bundle): the key is never stored in Redis.
    made = self_signed(tmp_path)
    bundle = tmp_path / "bundle.pem"
    bundle.write_text(made.key_file.read_text() + made.cert_file.read_text(), encoding="utf-8")
    entries, problems = read(tmp_path, inventory_text(entry(ca_file="bundle.pem")))
    assert problems == []
    assert entries["acme-hq"].ca_pem == made.cert_file.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "holds no PEM certificate"),
        ("just some text\n", "holds no PEM certificate"),
        ("key", "holds no PEM certificate"),
        (PEM, "its certificate does not load"),
    ],
    ids=["empty", "text", "private-key-only", "broken-certificate"],
)
def test_a_ca_file_without_a_usable_certificate_is_an_error(
    tmp_path: Path, content: str, message: str
) -> None:
    if content == "key":
        content = self_signed(tmp_path / "made").key_file.read_text(encoding="utf-8")
    (tmp_path / "ca.pem").write_text(content, encoding="utf-8")
    entries, problems = read(tmp_path, inventory_text(entry(ca_file="ca.pem")))
    assert entries == {}
    (problem,) = problems
    assert (problem.line, problem.column) == (2, "ca_file")
    assert message in problem.message
    assert "PRIVATE KEY" not in problem.message


def test_verification_off_with_a_ca_file_is_an_error(tmp_path: Path) -> None:
    self_signed(tmp_path)
    row = entry(ca_file="cert.pem", verify_tls="false")
    entries, problems = read(tmp_path, inventory_text(row))
    assert entries == {}
    assert [(p.column, p.message) for p in problems] == [
        ("verify_tls", "is false, yet a ca_file is given: leave one of them out")
    ]


@pytest.mark.parametrize(
    ("text", "value"),
    [("true", True), ("Yes", True), ("1", True), ("false", False), ("NO", False), ("0", False)],
)
def test_verify_tls_values(tmp_path: Path, text: str, value: bool) -> None:
    entries, problems = read(tmp_path, inventory_text(entry(verify_tls=text)))
    assert problems == []
    assert entries["acme-hq"].verify_tls is value


def test_secrets_come_from_the_environment_or_the_cell(tmp_path: Path) -> None:
    rows = [entry(), entry(pbx="globex", client_secret="literal-secret")]
    entries, _ = read(tmp_path, inventory_text(*rows))
    assert entries["acme-hq"].client_secret.get_secret_value() == SECRET
    assert entries["globex"].client_secret.get_secret_value() == "literal-secret"
    assert SECRET not in repr(entries["acme-hq"])
    assert SECRET not in str(entries["acme-hq"].public_fields())


def test_the_environment_is_read_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRUNKCTL_TEST_PBX_SECRET", SECRET)
    path = tmp_path / "pbxs.csv"
    path.write_text(inventory_text(entry(client_secret="env:TRUNKCTL_TEST_PBX_SECRET")))
    assert read_inventory(path).entries["acme-hq"].client_secret.get_secret_value() == SECRET


@pytest.mark.parametrize(
    ("changes", "column", "message"),
    [
        ({"client_secret": "env:NOT_SET_ANYWHERE"}, "client_secret",
         "environment variable NOT_SET_ANYWHERE is not set"),
        ({"client_secret": "env:"}, "client_secret", "names no environment variable after 'env:'"),
        ({"client_secret": ""}, "client_secret", "required"),
        ({"client_id": ""}, "client_id", "required"),
        ({"base_url": ""}, "base_url", "required"),
        ({"base_url": "ftp://pbx.acme.example"}, "base_url",
         "must be an http:// or https:// URL, got 'ftp://pbx.acme.example'"),
        ({"base_url": "pbx.acme.example"}, "base_url", "must be an http:// or https:// URL"),
        ({"base_url": "http://"}, "base_url", "must name a host"),
        ({"base_url": "http://:8088"}, "base_url", "must name a host"),
        ({"base_url": "http://h:abc"}, "base_url", "with a port from 1 to 65535, got 'http://h:abc'"),
        ({"base_url": "http://h:99999"}, "base_url", "with a port from 1 to 65535"),
        ({"base_url": "http://h:0"}, "base_url", "must have a port from 1 to 65535"),
        ({"base_url": "http://h/x?a=1"}, "base_url", "must not have a query string or fragment"),
        ({"base_url": "http://admin:pw123@h"}, "base_url",
         "must not carry a user name or password"),
        ({"base_url": "http://pbx acme"}, "base_url", "must be an http:// or https:// URL"),
        ({"pbx": "acme hq"}, "pbx", "letters, digits, '_', '-' and '.', got 'acme hq'"),
        ({"pbx": "acme/hq"}, "pbx", "may contain only letters, digits"),
        ({"pbx": ""}, "pbx", "required"),
        ({"verify_tls": "maybe"}, "verify_tls", "must be true or false, got 'maybe'"),
        ({"tls_fingerprint": "ab" * 31}, "tls_fingerprint", "must be a SHA-256 fingerprint"),
        ({"tls_fingerprint": "zz" * 32}, "tls_fingerprint", "must be a SHA-256 fingerprint"),
        ({"ca_file": "missing.pem"}, "ca_file", "missing.pem': No such file or directory"),
        ({"max_inflight": "0"}, "max_inflight", "must be at least 1"),
        ({"max_inflight": "1.5"}, "max_inflight", "must be a whole number, got '1.5'"),
        ({"min_interval_ms": "-1"}, "min_interval_ms", "must be at least 0"),
        ({"timeout_s": "soon"}, "timeout_s", "must be a number of seconds, got 'soon'"),
        ({"timeout_s": "0"}, "timeout_s", "must be more than 0"),
    ],
    ids=[
        "secret-env-unset", "secret-env-unnamed", "secret-missing", "client-id-missing",
        "base-url-missing", "base-url-ftp", "base-url-no-scheme", "base-url-no-host",
        "base-url-port-no-host", "base-url-port-word", "base-url-port-high", "base-url-port-zero",
        "base-url-query", "base-url-password", "base-url-space", "alias-space", "alias-slash",
        "alias-missing", "verify-tls",
        "fingerprint-short", "fingerprint-not-hex", "ca-file-missing", "max-inflight-zero",
        "max-inflight-fraction", "min-interval-negative", "timeout-word", "timeout-zero",
    ],
)  # fmt: skip
def test_entry_problems(tmp_path: Path, changes: dict[str, str], column: str, message: str) -> None:
    entries, problems = read(tmp_path, inventory_text(entry(**changes)))
    assert entries == {}
    (problem,) = problems
    assert (problem.file, problem.line, problem.column) == ("pbxs.csv", 2, column)
    assert message in problem.message
    assert SECRET not in problem.message
    assert "pw123" not in problem.message


def test_a_client_secret_in_the_base_url_column_is_not_echoed(tmp_path: Path) -> None:
    # Two cells swapped by hand: the message names the column, not the secret it holds.
    _, problems = read(tmp_path, inventory_text(entry(base_url=SECRET, client_secret="x")))
    (problem,) = problems
    assert problem.column == "base_url"
    assert problem.message == "must be an http:// or https:// URL"


def test_every_problem_of_an_entry_is_reported(tmp_path: Path) -> None:
    row = entry(base_url="ftp://x", verify_tls="maybe", client_secret="env:NOPE", client_id="")
    _, problems = read(tmp_path, inventory_text(row))
    assert sorted(p.column or "" for p in problems) == [
        "base_url", "client_id", "client_secret", "verify_tls",
    ]  # fmt: skip


def test_a_duplicate_alias_points_at_the_first(tmp_path: Path) -> None:
    rows = [entry(), entry(pbx="globex"), entry(base_url="http://other.example")]
    entries, problems = read(tmp_path, inventory_text(*rows))
    assert problems == [Problem("pbxs.csv", 4, "pbx", "'acme-hq' already defined on line 2")]
    assert entries["acme-hq"].base_url == "https://pbx.acme.example:8088"


def test_aliases_of_invalid_entries_are_still_known(tmp_path: Path) -> None:
    path = tmp_path / "pbxs.csv"
    path.write_text(inventory_text(entry(base_url="ftp://x"), entry(pbx="globex")))
    inventory = read_inventory(path, environ=ENVIRON)
    assert set(inventory.entries) == {"globex"}
    assert inventory.aliases == {"acme-hq", "globex"}


@pytest.mark.parametrize(
    ("header", "column", "message"),
    [
        ("pbx,baseurl,client_id,client_secret", "baseurl",
         "unknown column 'baseurl'; did you mean 'base_url'?"),
        ("pbx,base_url,client_id,client_secret,secret", "secret",
         "unknown column 'secret'; did you mean 'client_secret'?"),
        ("pbx,base_url,client_id,client_secret,PBX", "pbx", "column 'pbx' appears more than once"),
    ],
    ids=["typo", "unknown", "repeated"],
)  # fmt: skip
def test_header_problems_make_the_inventory_empty(
    tmp_path: Path, header: str, column: str, message: str
) -> None:
    row = "acme-hq,http://pbx.acme.example,c,s,x"
    entries, problems = read(tmp_path, f"{header}\n{row}\n")
    assert (entries, problems) == ({}, [Problem("pbxs.csv", 1, column, message)])


def test_a_header_without_a_required_column_makes_the_inventory_empty(tmp_path: Path) -> None:
    # Reported once, at the header, not once per row (nor not at all when there is no row).
    for rows in ("", "acme-hq,http://pbx.acme.example\nglobex,http://pbx.globex.example\n"):
        entries, problems = read(tmp_path, f"pbx,base_url\n{rows}")
        assert entries == {}
        assert problems == [
            Problem("pbxs.csv", 1, column, "required column is missing from the header")
            for column in ("client_id", "client_secret")
        ]


def test_header_names_are_trimmed_and_lower_cased(tmp_path: Path) -> None:
    entries, problems = read(tmp_path, " PBX ,Base_URL,Client_Id, CLIENT_SECRET\na,http://h,c,s\n")
    assert (list(entries), problems) == (["a"], [])


def test_an_entry_with_more_cells_than_the_header(tmp_path: Path) -> None:
    entries, problems = read(tmp_path, "pbx,base_url,client_id,client_secret\na,http://h,c,s,x\n")
    assert entries == {}
    assert problems == [Problem("pbxs.csv", 2, None, "the row has more cells than the header")]


def test_a_missing_inventory_is_unreadable(tmp_path: Path) -> None:
    with pytest.raises(UnreadableInputError, match="No such file or directory"):
        read_inventory(tmp_path / "nope.csv")
