"""CSV cells to body values (`row_body`) and back (`body_cells`)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from trunks.cells import (
    TRUNK_COLUMNS,
    CellError,
    body_cells,
    parse_did_list,
    parse_integer,
    row_body,
)
from trunks.schema import API_FIELDS

PORT_RANGE = (1, 65535)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("5060", 5060), ("1", 1), ("0", 0), ("007", 7), ("+5", 5), ("-1", -1), ("99999", 99999),
        ("0" * 1000 + "5060", 5060), ("-00009", -9),
    ],
    ids=[
        "port", "one", "zero", "leading-zeros", "plus-sign", "minus-sign", "five-digits",
        "many-leading-zeros", "negative-with-zeros",
    ],
)  # fmt: skip
def test_whole_numbers_are_read(text: str, value: int) -> None:
    # Out of range, but within the range's digits: the schema's range check says so.
    assert parse_integer(text, PORT_RANGE) == value


@pytest.mark.parametrize(
    ("text", "value_range", "message"),
    [
        ("100000", PORT_RANGE, "must be at most 65535, got '100000'"),
        ("-100000", (0, 65535), "must be at least 0, got '-100000'"),
        ("10", (0, 1), "must be at most 1, got '10'"),
        ("1" * 4300, PORT_RANGE, f"must be at most 65535, got '{'1' * 60}'... (4,300 characters)"),
        ("-" + "9" * 5000, PORT_RANGE,
         f"must be at least 1, got '-{'9' * 59}'... (5,001 characters)"),
    ],
    ids=["six-digits", "negative-six-digits", "flag-two-digits", "4300-digits", "5000-digits"],
)  # fmt: skip
def test_a_number_with_more_digits_than_its_range_is_not_read(
    text: str, value_range: tuple[int, int], message: str
) -> None:
    with pytest.raises(CellError) as exc:
        parse_integer(text, value_range)
    assert str(exc.value) == message


@pytest.mark.parametrize(
    "text",
    ["50x", "5060.0", "1e3", "0x10", "1_000", "5 060", "", "+", "\u0665\u0660\u0666\u0660", "²"],
    ids=[
        "trailing-letter", "decimal-point", "exponent", "hex", "underscore", "inner-space",
        "empty", "sign-only", "arabic-indic-digits", "superscript",
    ],
)  # fmt: skip
def test_anything_but_a_decimal_whole_number_is_a_cell_error(text: str) -> None:
    with pytest.raises(CellError, match="must be a whole number"):
        parse_integer(text, PORT_RANGE)


@pytest.mark.parametrize(
    ("text", "items"),
    [
        ("5503308", [{"did": "5503308"}]),
        ("5503308:Main", [{"did": "5503308", "did_name": "Main"}]),
        ("5503308:Main;5503309", [{"did": "5503308", "did_name": "Main"}, {"did": "5503309"}]),
        (" 5503308 : Main Line ; 5503309 ", [
            {"did": "5503308", "did_name": "Main Line"}, {"did": "5503309"}]),
        ("5503308;;5503309;", [{"did": "5503308"}, {"did": "5503309"}]),
        ("5503308:", [{"did": "5503308"}]),
        ("5503308:a:b", [{"did": "5503308", "did_name": "a:b"}]),
        (":Main", [{"did": "", "did_name": "Main"}]),
        ('[{"did": "5503308", "did_name": "Main"}]', [{"did": "5503308", "did_name": "Main"}]),
        ("[]", []),
    ],
    ids=[
        "one-did", "did-and-name", "two-items", "spaces-trimmed", "empty-items-skipped",
        "empty-name-left-out", "name-with-colon", "empty-did-kept-for-the-model", "json-array",
        "empty-json-array",
    ],
)  # fmt: skip
def test_did_list_cells(text: str, items: list[dict[str, str]]) -> None:
    assert parse_did_list(text) == items


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[{"did": "1"}', "is not valid JSON"),
        ('{"did": "5503308"}', "must be a JSON array"),
    ],
    ids=["broken-json", "json-object"],
)
def test_did_list_cells_that_look_like_json_must_be_a_json_array(text: str, message: str) -> None:
    with pytest.raises(CellError, match=message):
        parse_did_list(text)


def test_row_body_trims_converts_and_leaves_out_empty_cells() -> None:
    cells = {
        "name": "  acme  ", "port": " 5060 ", "enable": "", "itsp": "   ",
        "codec_sel": " ulaw, alaw ", "outbound_cid_list": ' [] ', "did_list": "1:A",
        "pbx": "acme-hq", "not_a_column": "ignored",
    }  # fmt: skip
    body, errors = row_body(cells)
    assert errors == {}
    assert body == {
        "name": "acme",
        "port": 5060,
        "codec_sel": "ulaw, alaw",  # the model normalises codec lists
        "outbound_cid_list": [],
        "did_list": [{"did": "1", "did_name": "A"}],
    }


@pytest.mark.parametrize(
    ("password", "sent"),
    [("aAc1653249", True), ("a b", True), ("", False)],
    ids=["plain", "inner-space-kept", "empty-means-not-sent"],
)
def test_the_password_cell_is_taken_as_is(password: str, sent: bool) -> None:
    body, errors = row_body({"password": password})
    assert errors == {}
    assert body == ({"password": password} if sent else {})


@pytest.mark.parametrize(
    "password",
    [" aAc1653249", "aAc1653249 ", "\taAc1653249", "aAc1653249\n", "   "],
    ids=["leading-space", "trailing-space", "leading-tab", "trailing-newline", "only-spaces"],
)
def test_a_password_with_surrounding_spaces_is_an_error_that_hides_it(password: str) -> None:
    body, errors = row_body({"password": password})
    assert body == {}
    assert list(errors) == ["password"]
    assert "leading or trailing spaces" in errors["password"]
    assert "aAc1653249" not in errors["password"]


def test_row_body_reports_every_unreadable_cell() -> None:
    _, errors = row_body(
        {"port": "50x", "enable": "yes", "outbound_cid_list": "[", "did_list": "{}"}
    )
    assert set(errors) == {"port", "enable", "outbound_cid_list", "did_list"}


def test_trunk_columns_are_the_api_fields_and_pbx() -> None:
    assert list(TRUNK_COLUMNS) == [*API_FIELDS, "pbx"]


@pytest.mark.parametrize(
    ("body", "cells"),
    [
        ({"port": 5060, "name": "a"}, {"port": "5060", "name": "a"}),
        ({"did_list": [{"did": "1", "did_name": "A"}, {"did": "2"}]}, {"did_list": "1:A;2"}),
        ({"did_list": []}, {"did_list": "[]"}),
        ({"outbound_cid_list": [{"id": 1}]}, {"outbound_cid_list": '[{"id": 1}]'}),
    ],
    ids=["scalars", "did-short-form", "no-dids", "caller-ids-as-json"],
)  # fmt: skip
def test_body_cells_read_back_into_the_body(body: dict[str, Any], cells: dict[str, str]) -> None:
    assert body_cells(body) == cells
    assert row_body(cells) == (body, {})


@pytest.mark.parametrize(
    "items",
    [
        [{"did": "1", "did_name": ""}],
        [{"did": "1:2"}],
        [{"did": "1", "did_name": "a;b"}],
        [{"did": " 1"}],
        [{"did": "1", "did_name": "A "}],
        [{"did": "[1"}],
        [{"did": "{1"}],
        [{"did": "1"}, {"did": "2", "did_name": ""}],
    ],
    ids=[
        "empty-did-name", "colon-in-did", "semicolon-in-name", "space-around-did",
        "space-around-name", "did-starting-like-a-json-array", "did-starting-like-a-json-object",
        "one-item-needs-json",
    ],
)  # fmt: skip
def test_dids_the_short_form_cannot_hold_are_written_as_json(items: list[dict[str, str]]) -> None:
    cells = body_cells({"did_list": items})
    assert cells == {"did_list": json.dumps(items)}
    assert row_body(cells) == ({"did_list": items}, {})


def test_body_cells_can_force_json_dids() -> None:
    body = {"did_list": [{"did": "1"}]}
    assert body_cells(body, did_list_as_json=True) == {"did_list": '[{"did": "1"}]'}
