"""Hostile cells: over-long, control characters, deep or huge JSON; each one a message, never a
traceback, and never the password it may hold."""

from __future__ import annotations

import json

import pytest

from trunks.cells import CellError, parse_did_list, row_body
from trunks.json_cells import MAX_JSON_DEPTH, parse_json_array
from trunks.rows import validate_row
from trunks.text import cell_problem, control_problem, printable, quoted

PASSWORD = "aAc1653249"
SHARED = {"outbound_cid_option": "shared", "outbound_cid": "5503301", "ext_list": [{"id": 12}]}


def errors_of(cells: dict[str, str]) -> dict[str, str]:
    """The cell errors of a row (the body parts that could not be read)."""
    return row_body(cells)[1]


# --- the rules every cell obeys (trunks.text) ---------------------------------------------------


@pytest.mark.parametrize(
    ("text", "allowed", "message"),
    [
        ("sip\x00.example", "", "holds control character U+0000 (NUL) at character 4"),
        ("\x1b[31mred", "", "holds control character U+001B (ESC) at character 1"),
        ("a\x7f", "", "holds control character U+007F (DEL) at character 2"),
        ("a\x9b31m", "", "holds control character U+009B at character 2"),
        ("a\tb", "", "holds control character U+0009 (TAB) at character 2"),
        ("a\tb", "\t", None),
        ("a\nb", "\t", "holds control character U+000A (LF) at character 2"),
        ("a\r\n\tb", "\t\n\r", None),
        ("Zürich \u202e \u2028 ☎", "", None),
    ],
    ids=[
        "nul", "esc", "del", "c1-csi", "tab", "tab-allowed", "lf-where-only-tab-is",
        "json-whitespace", "other-invisible-characters-are-not-controls",
    ],
)  # fmt: skip
def test_control_characters(text: str, allowed: str, message: str | None) -> None:
    assert control_problem(text, allowed) == message


def test_a_secret_s_control_character_is_not_described() -> None:
    assert control_problem("\x1bsecret", secret=True) == "holds a control character"


def test_length_is_checked_before_characters() -> None:
    assert cell_problem("x" * 1024) is None
    assert cell_problem("\x00" * 1025) == "is longer than 1,024 characters (1,025)"
    assert cell_problem("x" * 2000, 4096) is None


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("plain.csv", "plain.csv"),
        ("\x1b[31mevil.csv", "\\x1b[31mevil.csv"),
        ("a\x9bb\x7f\u202e", "a\\x9bb\\x7f\\u202e"),
        ("tab\there", "tab\\there"),
    ],
    ids=["printable", "esc", "c1-del-bidi", "tab"],
)
def test_printable_escapes_what_could_drive_a_terminal(text: str, shown: str) -> None:
    assert printable(text) == shown


def test_quoted_shows_escapes_and_cuts_long_text_short() -> None:
    assert quoted("\x1b[2J") == "'\\x1b[2J'"
    assert quoted("x" * 60) == repr("x" * 60)
    assert quoted("x" * 5000) == f"{'x' * 60!r}... (5,000 characters)"


# --- cells of a trunk row -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("column", "text", "message"),
    [
        ("hostname", "h" * 131_072, "is longer than 1,024 characters (131,072)"),
        ("hostname", "sip\x00.example", "holds control character U+0000 (NUL) at character 4"),
        ("hostname", "sip\t.example", "holds control character U+0009 (TAB) at character 4"),
        ("name", "a\x1b[2Jb", "holds control character U+001B (ESC) at character 2"),
        ("codec_sel", "ulaw,\x9balaw", "holds control character U+009B at character 6"),
        ("itsp", "Acme\nTelecom", "holds control character U+000A (LF) at character 5"),
        ("port", "1" * 4300, "is longer than 1,024 characters (4,300)"),
        ("port", "1" * 1000, f"must be at most 65535, got '{'1' * 60}'... (1,000 characters)"),
        ("enable", "0" * 500 + "10", f"must be at most 1, got '{'0' * 60}'... (502 characters)"),
    ],
    ids=[
        "131072-char-hostname", "nul-in-hostname", "tab-in-hostname", "esc-in-name",
        "c1-in-codecs", "line-break-in-free-text", "4300-digit-port", "1000-digit-port",
        "long-flag",
    ],
)  # fmt: skip
def test_cells_that_break_a_rule_of_every_cell(column: str, text: str, message: str) -> None:
    assert errors_of({column: text}) == {column: message}


@pytest.mark.parametrize("column", ["itsp", "def_outbound_cid_name"])
def test_free_text_may_hold_a_tab(column: str) -> None:
    assert row_body({column: "Acme\tTelecom"}) == ({column: "Acme\tTelecom"}, {})


@pytest.mark.parametrize(
    "password",
    [f"{PASSWORD}\x00", f"{PASSWORD}\x1b[2J", f"a\t{PASSWORD}", "x" * 2000 + PASSWORD],
    ids=["nul", "esc", "tab", "too-long"],
)
def test_a_password_s_problem_never_shows_it(password: str) -> None:
    errors = errors_of({"password": password})
    assert list(errors) == ["password"]
    assert PASSWORD not in errors["password"]
    assert "\\x" not in errors["password"]  # not even which control character


def test_json_cells_take_64_kib() -> None:
    padding = " " * (64 * 1024 - 200)
    cell = json.dumps([SHARED]) + padding
    assert row_body({"outbound_cid_list": cell}) == ({"outbound_cid_list": [SHARED]}, {})
    too_long = json.dumps([SHARED]) + " " * (64 * 1024)
    assert errors_of({"outbound_cid_list": too_long}) == {
        "outbound_cid_list": f"is longer than 65,536 characters ({len(too_long):,})"
    }


def test_a_did_list_takes_64_kib_as_json_and_1024_characters_in_short_form() -> None:
    dids = [{"did": f"55{number:05d}"} for number in range(3000)]
    assert row_body({"did_list": json.dumps(dids)}) == ({"did_list": dids}, {})
    short = ";".join(item["did"] for item in dids)
    assert errors_of({"did_list": short}) == {
        "did_list": f"is longer than 1,024 characters ({len(short):,}) "
        "(a JSON array of DIDs may hold 65,536)"
    }


def test_a_json_cell_may_span_lines_and_hold_tabs_between_its_tokens() -> None:
    cell = '[\r\n\t{"did": "5503308",\n "did_name": "Main"}\n]'
    assert row_body({"did_list": cell}) == (
        {"did_list": [{"did": "5503308", "did_name": "Main"}]},
        {},
    )


def test_a_did_name_may_hold_a_tab_a_did_may_not() -> None:
    assert parse_did_list("5503308:Main\tLine") == [{"did": "5503308", "did_name": "Main\tLine"}]
    with pytest.raises(CellError, match=r"DID '55\\t03' holds a TAB"):
        parse_did_list("55\t03:Main")


# --- JSON cells ---------------------------------------------------------------------------------


def nested(depth: int) -> str:
    """A JSON array nested `depth` levels deep."""
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 1000, 100_000], ids=str)
def test_json_nested_too_deep_is_a_message_not_a_recursion_error(depth: int) -> None:
    with pytest.raises(CellError, match="nests deeper than 8 levels"):
        parse_json_array(nested(depth))


def test_json_nested_8_deep_is_read() -> None:
    assert parse_json_array(nested(MAX_JSON_DEPTH)) == [[[[[[[[]]]]]]]]
    assert parse_json_array('[{"a": [{"b": [[[[]]]]}]}]') == [{"a": [{"b": [[[[]]]]}]}]


def test_brackets_inside_json_strings_do_not_count_as_nesting() -> None:
    text = json.dumps([{"ext_name": "[" * 50 + '\\"{' * 20}])
    assert parse_json_array(text) == [{"ext_name": "[" * 50 + '\\"{' * 20}]


def test_deep_json_in_a_whole_row_is_one_error_on_its_column() -> None:
    result = validate_row({"outbound_cid_list": nested(1000), "type": "peer"})
    assert [(e.column, e.message) for e in result.errors if e.column == "outbound_cid_list"] == [
        ("outbound_cid_list", "nests deeper than 8 levels")
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[{"id": ' + "1" * 5000 + "}]", "holds an integer of more than 20 digits"),
        ('[{"id": -' + "9" * 4300 + "}]", "holds an integer of more than 20 digits"),
        ('[{"id": 1e999999}]', "holds a number too large to read"),
        ('[{"id": 0.' + "5" * 5000 + "}]", "holds a number too large to read"),
        ('[{"id": NaN}]', "is not valid JSON (NaN is not a JSON value)"),
        ('[{"id": -Infinity}]', "is not valid JSON (-Infinity is not a JSON value)"),
        ('["a', "is not valid JSON (Unterminated string starting at character 2)"),
        ('["a\x1bb"]', "is not valid JSON (Invalid control character at character 4)"),
    ],
    ids=[
        "5000-digit-integer", "4300-digit-negative", "huge-exponent", "5000-digit-fraction",
        "nan", "infinity", "unterminated", "raw-esc-in-a-string",
    ],
)  # fmt: skip
def test_json_numbers_and_syntax_within_bounds(text: str, message: str) -> None:
    with pytest.raises(CellError) as exc:
        parse_json_array(text)
    assert str(exc.value) == message


def test_a_64_bit_id_is_read() -> None:
    assert parse_json_array('[{"id": -9223372036854775808}]') == [{"id": -(2**63)}]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ([{"outbound_cid": "\x1b[2J"}], "[0].outbound_cid: holds control character U+001B (ESC) "
         "at character 1"),
        ([{"ext_list": [{"ext_number": "1\x00"}]}], "[0].ext_list[0].ext_number: holds control "
         "character U+0000 (NUL) at character 2"),
        ([{"outbound_cid_name": "a\nb"}], "[0].outbound_cid_name: holds control character "
         "U+000A (LF) at character 2"),
        ([{"did\x07": "1"}], "[0] has a key that holds control character U+0007 at character 4"),
        (["\x9b"], "[0]: holds control character U+009B at character 1"),
    ],
    ids=["esc-in-a-value", "nul-deep-down", "line-break-in-a-name", "bell-in-a-key", "c1-item"],
)  # fmt: skip
def test_control_characters_written_as_json_escapes_are_errors_too(
    value: list[object], message: str
) -> None:
    with pytest.raises(CellError) as exc:
        parse_json_array(json.dumps(value))
    assert str(exc.value) == message


@pytest.mark.parametrize("key", ["outbound_cid_name", "did_name", "ext_name"])
def test_names_inside_json_may_hold_a_tab(key: str) -> None:
    assert parse_json_array(json.dumps([{key: "Main\tLine"}])) == [{key: "Main\tLine"}]


def test_a_long_unknown_key_is_cut_short_in_its_message() -> None:
    cids = [
        {"outbound_cid_option": "range", "outbound_cid": "1", "outbound_cid_to_ext_range": "1-2"}
    ]
    cids[0]["k" * 5000] = "x"
    result = validate_row({"type": "peer", "outbound_cid_list": json.dumps(cids)})
    assert ("outbound_cid_list", f"outbound_cid_list[0].{'k' * 60!r}... (5,000 characters): "
            "unknown key") in [(e.column, e.message) for e in result.errors]  # fmt: skip
