"""Every rule of the seed's tables 1-11, per trunk type, applied to CSV rows by `validate_row`."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.unit.test_schema import SEED_BODY, SEED_CODECS
from trunks.rows import validate_row
from trunks.schema import MODEL_BY_TYPE, article

TYPES = ("register", "peer", "account")
VALID_ROWS: dict[str, dict[str, str]] = {
    "register": {
        "name": "acme-main", "country": "general", "type": "register", "transport": "udp",
        "hostname": "sip.provider.example", "port": "5060", "domain": "sip.provider.example",
        "username": "6701", "password": "aAc1653249", "auth_name": "6701",
        "codec_sel": "ulaw,alaw,g729", "pbx": "acme-hq",
    },
    "peer": {
        "name": "acme-carrier", "country": "general", "type": "peer", "transport": "udp",
        "hostname": "203.0.113.10", "port": "5060", "domain": "203.0.113.10",
        "codec_sel": "ulaw,alaw", "pbx": "acme-hq",
    },
    "account": {
        "name": "branch-gw", "country": "general", "type": "account", "transport": "tcp",
        "number": "1001", "password": "Gw4ay-Pass", "auth_name": "gw-branch", "codec_sel": "ulaw",
        "pbx": "acme-hq",
    },
}  # fmt: skip
# "Required: Yes" in tables 1, 5 and 9.
REQUIRED = {
    "register": ("name", "country", "type", "transport", "hostname", "port", "domain",
                 "username", "password", "auth_name", "codec_sel"),
    "peer": ("name", "country", "type", "transport", "hostname", "port", "domain", "codec_sel"),
    "account": ("name", "country", "type", "transport", "number", "password", "auth_name",
                "codec_sel"),
}  # fmt: skip
# A cell for every parameter that is optional (or foreign) somewhere, and its body value.
OPTIONAL_VALUES: dict[str, tuple[str, Any]] = {
    "enable": ("1", 1),
    "itsp": ("Acme Telecom", "Acme Telecom"),
    "enb_outbound_proxy": ("1", 1),
    "outbound_proxy_server": ("proxy.provider.example", "proxy.provider.example"),
    "outbound_proxy_port": ("5080", 5080),
    "def_outbound_cid": ("5503300", "5503300"),
    "def_outbound_cid_name": ("Acme", "Acme"),
    "outbound_cid_list": (
        '[{"outbound_cid_option": "range", "outbound_cid": "5503301", '
        '"outbound_cid_to_ext_range": "1000-1099"}]',
        [{"outbound_cid_option": "range", "outbound_cid": "5503301",
          "outbound_cid_to_ext_range": "1000-1099"}],
    ),
    "did_list": ("5503308:Main;5503309",
                 [{"did": "5503308", "did_name": "Main"}, {"did": "5503309"}]),
    "number": ("1001", "1001"),
    "username": ("6701", "6701"),
    "auth_name": ("6701", "6701"),
    "password": ("aAc1653249", "aAc1653249"),
    "hostname": ("sip.provider.example", "sip.provider.example"),
    "domain": ("sip.provider.example", "sip.provider.example"),
    "port": ("5060", 5060),
}  # fmt: skip
# "Required: No" in tables 1, 5 and 9.
OPTIONAL = {
    "register": ("enable", "itsp", "enb_outbound_proxy", "outbound_proxy_server",
                 "outbound_proxy_port", "def_outbound_cid", "def_outbound_cid_name",
                 "outbound_cid_list", "did_list"),
    "peer": ("enable", "itsp", "def_outbound_cid", "def_outbound_cid_name", "outbound_cid_list",
             "did_list"),
    "account": ("enable", "itsp", "def_outbound_cid", "def_outbound_cid_name",
                "outbound_cid_list"),
}  # fmt: skip
# Parameters that the type's table does not list: sending one is an error, not dropped.
FOREIGN = {
    "register": ("number",),
    "peer": ("username", "password", "auth_name", "number", "enb_outbound_proxy",
             "outbound_proxy_server", "outbound_proxy_port"),
    "account": ("hostname", "port", "domain", "username", "did_list", "enb_outbound_proxy",
                "outbound_proxy_server", "outbound_proxy_port"),
}  # fmt: skip


def row(trunk_type: str, **changes: str | None) -> dict[str, str]:
    """A valid row of the type with some cells changed (None: the cell is left empty)."""
    cells = {**VALID_ROWS[trunk_type], **changes}
    return {column: value for column, value in cells.items() if value is not None}


def errors_of(cells: dict[str, str]) -> list[tuple[str | None, str]]:
    """(column, message) of every problem; fails when the row is valid."""
    result = validate_row(cells)
    assert result.request is None
    assert result.errors
    return [(error.column, error.message) for error in result.errors]


def assert_one_error(cells: dict[str, str], column: str, fragment: str) -> None:
    """The row has exactly one problem, in that column, saying that."""
    ((found_column, message),) = errors_of(cells)
    assert found_column == column
    assert fragment in message


def body_of(cells: dict[str, str]) -> dict[str, Any]:
    """The JSON body of a valid row; fails with the problems otherwise."""
    result = validate_row(cells)
    assert result.errors == ()
    assert result.request is not None
    return result.request.request_body()


def per_type(table: dict[str, tuple[str, ...]]) -> list[Any]:
    """pytest params (type, field) for every field of every type, with readable ids."""
    return [
        pytest.param(trunk_type, field, id=f"{trunk_type}-{field}")
        for trunk_type, fields in table.items()
        for field in fields
    ]


# --- the type and its fields ------------------------------------------------------------------


@pytest.mark.parametrize("trunk_type", TYPES)
def test_a_valid_row_gives_its_types_request(trunk_type: str) -> None:
    result = validate_row(row(trunk_type))
    assert result.errors == ()
    assert type(result.request) is MODEL_BY_TYPE[trunk_type]


@pytest.mark.parametrize("trunk_type", TYPES)
def test_the_required_fields_are_the_seeds(trunk_type: str) -> None:
    model = MODEL_BY_TYPE[trunk_type]
    required = {name for name, field in model.model_fields.items() if field.is_required()}
    assert required == set(REQUIRED[trunk_type])
    assert set(model.model_fields) == {*REQUIRED[trunk_type], *OPTIONAL[trunk_type]}


@pytest.mark.parametrize(("trunk_type", "field"), per_type(REQUIRED))
def test_each_required_field_is_required(trunk_type: str, field: str) -> None:
    if field == "type":
        assert_one_error(row(trunk_type, type=None), "type", "required: one of")
    else:
        assert_one_error(
            row(trunk_type, **{field: None}), field, f"required for {article(trunk_type)} trunk"
        )


# Password cells are not trimmed: see test_password_with_spaces.
TRIMMED_REQUIRED = {
    trunk_type: tuple(field for field in fields if field != "password")
    for trunk_type, fields in REQUIRED.items()
}


@pytest.mark.parametrize(("trunk_type", "field"), per_type(TRIMMED_REQUIRED))
def test_a_cell_of_spaces_is_an_empty_cell(trunk_type: str, field: str) -> None:
    assert errors_of(row(trunk_type, **{field: "   "}))[0][0] == field


@pytest.mark.parametrize(("trunk_type", "field"), per_type(OPTIONAL))
def test_each_optional_field_is_sent_when_given(trunk_type: str, field: str) -> None:
    cell, value = OPTIONAL_VALUES[field]
    assert field not in body_of(row(trunk_type))
    assert body_of(row(trunk_type, **{field: cell}))[field] == value


@pytest.mark.parametrize(("trunk_type", "field"), per_type(FOREIGN))
def test_a_field_of_another_type_is_an_error(trunk_type: str, field: str) -> None:
    cells = row(trunk_type, **{field: OPTIONAL_VALUES[field][0]})
    assert_one_error(cells, field, f"does not belong to {article(trunk_type)} trunk")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "required: one of register, peer, account"),
        ("trunk", "must be one of register, peer, account, got 'trunk'"),
        ("Register", "must be one of register, peer, account, got 'Register'"),
    ],
    ids=["empty", "unknown", "capitalised"],
)
def test_the_type_must_be_one_of_the_three(value: str, message: str) -> None:
    assert errors_of(row("register", type=value)) == [("type", message)]


def test_an_unknown_type_still_checks_the_other_cells_it_can() -> None:
    cells = row("register", type="trunk", name="bad name", port="50x")
    assert sorted(column for column, _ in errors_of(cells)) == ["name", "port", "type"]


# --- transport and codecs ---------------------------------------------------------------------

TRANSPORTS = {
    "register": ("udp", "tcp", "tls", "dnsnaptr"),
    "peer": ("udp", "tcp", "tls", "dnsnaptr"),
    "account": ("udp", "tcp", "tls"),
}


@pytest.mark.parametrize(("trunk_type", "transport"), per_type(TRANSPORTS))
def test_each_transport_of_the_type_is_accepted(trunk_type: str, transport: str) -> None:
    assert body_of(row(trunk_type, transport=transport))["transport"] == transport


@pytest.mark.parametrize(
    ("trunk_type", "transport"),
    [
        ("account", "dnsnaptr"),
        *[(trunk_type, bad) for trunk_type in TYPES for bad in ("sctp", "udp,tcp")],
    ],
    ids=lambda value: value,
)
def test_other_transports_are_rejected(trunk_type: str, transport: str) -> None:
    expected = " or ".join(f"'{name}'" for name in TRANSPORTS[trunk_type][-2:])
    assert_one_error(row(trunk_type, transport=transport), "transport", expected)


CODECS = {
    "register": SEED_CODECS,
    "peer": tuple(codec for codec in SEED_CODECS if codec != "mpeg4"),
    "account": SEED_CODECS,
}


@pytest.mark.parametrize(("trunk_type", "codec"), per_type(CODECS))
def test_each_codec_of_the_type_is_accepted(trunk_type: str, codec: str) -> None:
    assert body_of(row(trunk_type, codec_sel=codec))["codec_sel"] == codec


@pytest.mark.parametrize("trunk_type", TYPES)
def test_all_codecs_of_the_type_at_once(trunk_type: str) -> None:
    all_codecs = ",".join(CODECS[trunk_type])
    assert body_of(row(trunk_type, codec_sel=all_codecs))["codec_sel"] == all_codecs


@pytest.mark.parametrize(
    ("trunk_type", "codec_sel", "message"),
    [
        ("peer", "ulaw,mpeg4", "'mpeg4' not valid for a peer trunk"),
        ("register", "ulaw,g711", "'g711' not valid for a register trunk"),
        ("account", "ULAW", "'ULAW' not valid for an account trunk"),
        ("register", "ulaw alaw", "'ulaw alaw' not valid"),
        ("register", "ulaw;alaw", "'ulaw;alaw' not valid"),
        ("register", "ulaw,alaw,ulaw", "lists 'ulaw' more than once"),
        ("peer", "alaw, alaw", "lists 'alaw' more than once"),
        ("account", "ulaw,,alaw", "empty codec between commas"),
        ("register", "ulaw,", "empty codec between commas"),
        ("peer", ",", "empty codec between commas"),
    ],
    ids=[
        "mpeg4-on-peer", "unknown", "upper-case", "space-separated", "semicolon-separated",
        "listed-twice", "listed-twice-with-space", "empty-between-commas", "trailing-comma",
        "only-a-comma",
    ],
)  # fmt: skip
def test_bad_codec_lists(trunk_type: str, codec_sel: str, message: str) -> None:
    assert_one_error(row(trunk_type, codec_sel=codec_sel), "codec_sel", message)


def test_an_unknown_codec_listed_twice_reports_both_problems() -> None:
    ((_, message),) = errors_of(row("register", codec_sel="foo,ulaw,ulaw"))
    assert "'foo' not valid" in message
    assert "lists 'ulaw' more than once" in message


@pytest.mark.parametrize("trunk_type", TYPES)
def test_spaces_around_codecs_are_ignored(trunk_type: str) -> None:
    cells = row(trunk_type, codec_sel=" ulaw ,  alaw,g722 ")
    assert body_of(cells)["codec_sel"] == "ulaw,alaw,g722"


# --- passwords --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "password",
    ["aAc1653249", "Abcdefghi1", "1234567aB9", "pass Word 12", "ÄÖÜäöü123aZ"],
    ids=["seed-example", "exactly-10", "digits-first", "inner-spaces", "non-ascii-besides"],
)
def test_register_passwords_that_meet_the_rule(password: str) -> None:
    assert body_of(row("register", password=password))["password"] == password


@pytest.mark.parametrize(
    ("password", "lacks"),
    [
        ("weakpass", "(lacks a digit, an upper-case letter)"),
        ("Abcdefgh1", "letter"),
        ("abcdefghi1", "(lacks an upper-case letter)"),
        ("ABCDEFGHI1", "(lacks a lower-case letter)"),
        ("Abcdefghij", "(lacks a digit)"),
        ("1234567890", "(lacks an upper-case letter, a lower-case letter)"),
        # The PBX counts ASCII only: these are no digits and no letters to it.
        ("aAcdefghij\u0661", "(lacks a digit)"),
        ("aAcdefghij\u00b2", "(lacks a digit)"),
        ("ÄÖÜäöü1234567", "(lacks an upper-case letter, a lower-case letter)"),
    ],
    ids=[
        "weakpass",
        "9-chars",
        "no-upper",
        "no-lower",
        "no-digit",
        "digits-only",
        "arabic-indic-digit",
        "superscript-two",
        "non-ascii-letters",
    ],
)
def test_register_passwords_that_break_the_rule(password: str, lacks: str) -> None:
    ((column, message),) = errors_of(row("register", password=password))
    assert column == "password"
    assert message.startswith("must be at least 10 characters with a digit, an upper-case and a")
    assert message.endswith(lacks)
    assert password not in message


@pytest.mark.parametrize("password", ["weakpass", "x", "1", "a b"])
def test_account_passwords_have_no_strength_rule(password: str) -> None:
    assert body_of(row("account", password=password))["password"] == password


@pytest.mark.parametrize("trunk_type", TYPES)
@pytest.mark.parametrize(
    "password",
    [" aAc1653249", "aAc1653249 ", "\taAc1653249", "  "],
    ids=["leading", "trailing", "tab", "only-spaces"],
)
def test_password_with_spaces(trunk_type: str, password: str) -> None:
    assert_one_error(row(trunk_type, password=password), "password", "leading or trailing spaces")


# --- names ------------------------------------------------------------------------------------


@pytest.mark.parametrize("trunk_type", TYPES)
@pytest.mark.parametrize(
    "name",
    ["a", "x" * 63, "Acme_Main-1.2", "0", "...", "-_-"],
    ids=["one-char", "63-chars", "all-kinds", "digit", "dots", "dash-underscore"],
)
def test_good_names(trunk_type: str, name: str) -> None:
    assert body_of(row(trunk_type, name=name))["name"] == name


@pytest.mark.parametrize("trunk_type", TYPES)
@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("x" * 64, "must be at most 63 characters"),
        ("acme main", "(no spaces), got 'acme main'"),
        ("acme/main", "got 'acme/main'"),
        ("acmé", "got 'acmé'"),
        ("acme:main", "got 'acme:main'"),
        ("a\nb", "holds control character U+000A (LF) at character 2"),
    ],
    ids=["64-chars", "space", "slash", "accent", "colon", "newline"],
)
def test_bad_names(trunk_type: str, name: str, message: str) -> None:
    assert_one_error(row(trunk_type, name=name), "name", message)


def test_names_are_trimmed() -> None:
    assert body_of(row("peer", name="  acme  "))["name"] == "acme"


# --- integers ---------------------------------------------------------------------------------

INTEGER_FIELDS = {
    "register": ("port", "enable", "enb_outbound_proxy", "outbound_proxy_port"),
    "peer": ("port", "enable"),
    "account": ("enable",),
}
RANGES = {
    "port": (1, 65535),
    "outbound_proxy_port": (1, 65535),
    "enable": (0, 1),
    "enb_outbound_proxy": (0, 1),
}


@pytest.mark.parametrize(("trunk_type", "field"), per_type(INTEGER_FIELDS))
def test_integer_bounds_are_accepted_as_json_integers(trunk_type: str, field: str) -> None:
    for bound in RANGES[field]:
        value = body_of(row(trunk_type, **{field: f" {bound} "}))[field]
        assert type(value) is int
        assert value == bound


@pytest.mark.parametrize(("trunk_type", "field"), per_type(INTEGER_FIELDS))
def test_integers_out_of_range(trunk_type: str, field: str) -> None:
    low, high = RANGES[field]
    assert_one_error(row(trunk_type, **{field: str(low - 1)}), field, f"must be at least {low}")
    assert_one_error(row(trunk_type, **{field: str(high + 1)}), field, f"must be at most {high}")


@pytest.mark.parametrize(("trunk_type", "field"), per_type(INTEGER_FIELDS))
@pytest.mark.parametrize("text", ["50x", "5060.0", "1.0", "yes", "0x1", "1e3"])
def test_integers_that_are_not_whole_numbers(trunk_type: str, field: str, text: str) -> None:
    assert_one_error(
        row(trunk_type, **{field: text}), field, f"must be a whole number, got {text!r}"
    )


# --- OutCaller_Info and Extension_Info (tables 2, 3, 6, 7, 10, 11) -----------------------------


def caller_ids(*items: dict[str, Any]) -> str:
    """An outbound_cid_list cell."""
    return json.dumps(list(items))


RANGE_CID = {"outbound_cid_option": "range", "outbound_cid": "5503301",
             "outbound_cid_to_ext_range": "1000-1099"}  # fmt: skip
SHARED_CID = {"outbound_cid_option": "shared", "outbound_cid": "5503302",
              "outbound_cid_name": "Sales", "ext_list": [{"id": 12}]}  # fmt: skip


def shared_with(*extensions: dict[str, Any]) -> dict[str, Any]:
    """A shared OutCaller_Info with these Extension_Info items."""
    return {**SHARED_CID, "ext_list": list(extensions)}


@pytest.mark.parametrize("trunk_type", TYPES)
@pytest.mark.parametrize(
    "items",
    [
        [RANGE_CID],
        [SHARED_CID],
        [RANGE_CID, SHARED_CID],
        [{**RANGE_CID, "ext_list": []}],
        [shared_with({"id": 1, "type": "extension", "ext_number": "1001", "ext_name": "Desk"})],
        [shared_with({"id": 2, "type": "ext_group"}, {"id": 0})],
        [],
    ],
    ids=[
        "range", "shared", "both", "range-with-empty-ext-list", "extension", "ext-group-and-id",
        "empty",
    ],
)  # fmt: skip
def test_good_caller_id_lists(trunk_type: str, items: list[dict[str, Any]]) -> None:
    assert (
        body_of(row(trunk_type, outbound_cid_list=caller_ids(*items)))["outbound_cid_list"] == items
    )


@pytest.mark.parametrize("trunk_type", TYPES)
@pytest.mark.parametrize(
    ("cell", "message"),
    [
        (caller_ids({**RANGE_CID, "outbound_cid_option": "single"}),
         "outbound_cid_list[0].outbound_cid_option: must be 'range' or 'shared', got 'single'"),
        (caller_ids({k: v for k, v in RANGE_CID.items() if k != "outbound_cid_option"}),
         "outbound_cid_list[0].outbound_cid_option: required"),
        (caller_ids({k: v for k, v in RANGE_CID.items() if k != "outbound_cid"}),
         "outbound_cid_list[0].outbound_cid: required"),
        (caller_ids({**RANGE_CID, "outbound_cid": ""}),
         "outbound_cid_list[0].outbound_cid: must not be empty"),
        (caller_ids({**RANGE_CID, "outbound_cid": "  "}),
         "outbound_cid_list[0].outbound_cid: must not be blank"),
        (caller_ids({**RANGE_CID, "outbound_cid_to_ext_range": " "}),
         "outbound_cid_list[0]: outbound_cid_to_ext_range is required when outbound_cid_option "
         "is 'range'"),
        (caller_ids({**RANGE_CID, "outbound_cid": 5503301}),
         "outbound_cid_list[0].outbound_cid: must be a string"),
        (caller_ids({k: v for k, v in RANGE_CID.items() if k != "outbound_cid_to_ext_range"}),
         "outbound_cid_list[0]: outbound_cid_to_ext_range is required when outbound_cid_option "
         "is 'range'"),
        (caller_ids(RANGE_CID, {k: v for k, v in SHARED_CID.items() if k != "ext_list"}),
         "outbound_cid_list[1]: a non-empty ext_list is required when outbound_cid_option is "
         "'shared'"),
        (caller_ids(shared_with()), "outbound_cid_list[0]: a non-empty ext_list is required"),
        (caller_ids({**RANGE_CID, "outbound_cid_names": "x"}),
         "outbound_cid_list[0].outbound_cid_names: unknown key"),
        (caller_ids({**SHARED_CID, "ext_list": {"id": 12}}),
         "outbound_cid_list[0].ext_list: must be a JSON array"),
        (caller_ids(shared_with({"type": "extension"})),
         "outbound_cid_list[0].ext_list[0].id: required"),
        (caller_ids(shared_with({"id": "12"})),
         "outbound_cid_list[0].ext_list[0].id: must be an integer, got '12'"),
        (caller_ids(shared_with({"id": 1.5})),
         "outbound_cid_list[0].ext_list[0].id: must be an integer, got 1.5"),
        (caller_ids(shared_with({"id": True})),
         "outbound_cid_list[0].ext_list[0].id: must be an integer, got true"),
        (caller_ids(shared_with({"id": 1, "type": "queue"})),
         "outbound_cid_list[0].ext_list[0].type: must be 'extension' or 'ext_group', got 'queue'"),
        (caller_ids(shared_with({"id": 1, "number": "1001"})),
         "outbound_cid_list[0].ext_list[0].number: unknown key"),
        (json.dumps(RANGE_CID), "must be a JSON array of objects"),
        ("[1]", "outbound_cid_list[0]: must be a JSON object"),
        ("[{", "is not valid JSON"),
        ("range:5503301", "is not valid JSON"),
    ],
    ids=[
        "unknown-option", "no-option", "no-outbound-cid", "empty-outbound-cid",
        "blank-outbound-cid", "blank-ext-range", "number-outbound-cid", "range-without-ext-range",
        "shared-without-ext-list",
        "shared-with-empty-ext-list", "unknown-key", "ext-list-not-array", "ext-without-id",
        "ext-id-string", "ext-id-float", "ext-id-bool", "ext-unknown-type", "ext-unknown-key",
        "object-not-array", "item-not-object", "broken-json", "not-json",
    ],
)  # fmt: skip
def test_bad_caller_id_lists(trunk_type: str, cell: str, message: str) -> None:
    assert_one_error(row(trunk_type, outbound_cid_list=cell), "outbound_cid_list", message)


def test_every_problem_of_a_caller_id_list_is_reported() -> None:
    cell = caller_ids({"outbound_cid_option": "single", "extra": 1}, shared_with({"id": "x"}))
    assert errors_of(row("peer", outbound_cid_list=cell)) == [
        ("outbound_cid_list", "outbound_cid_list[0].outbound_cid_option: must be 'range' or "
         "'shared', got 'single'"),
        ("outbound_cid_list", "outbound_cid_list[0].outbound_cid: required"),
        ("outbound_cid_list", "outbound_cid_list[0].extra: unknown key"),
        ("outbound_cid_list", "outbound_cid_list[1].ext_list[0].id: must be an integer, got 'x'"),
    ]  # fmt: skip


# --- DID_List (tables 4, 8) -------------------------------------------------------------------


@pytest.mark.parametrize("trunk_type", ["register", "peer"])
@pytest.mark.parametrize(
    ("cell", "items"),
    [
        ("5503308", [{"did": "5503308"}]),
        ("5503308:Main;5503309", [{"did": "5503308", "did_name": "Main"}, {"did": "5503309"}]),
        (" 5503308 : Main ; 5503309 ;",
         [{"did": "5503308", "did_name": "Main"}, {"did": "5503309"}]),
        ('[{"did": "5503308", "did_name": "Main"}]', [{"did": "5503308", "did_name": "Main"}]),
        ('[{"did": "5503308:1"}]', [{"did": "5503308:1"}]),
    ],
    ids=["one", "short-form", "short-form-with-spaces", "json", "json-with-colon"],
)  # fmt: skip
def test_good_did_lists(trunk_type: str, cell: str, items: list[dict[str, str]]) -> None:
    assert body_of(row(trunk_type, did_list=cell))["did_list"] == items


@pytest.mark.parametrize("trunk_type", ["register", "peer"])
@pytest.mark.parametrize(
    ("cell", "message"),
    [
        (":Main", "did_list[0].did: must not be empty"),
        ("5503308;:Main", "did_list[1].did: must not be empty"),
        ('[{"did_name": "Main"}]', "did_list[0].did: required"),
        ('[{"did": ""}]', "did_list[0].did: must not be empty"),
        ('[{"did": "  "}]', "did_list[0].did: must not be blank"),
        (" ; ; ", "holds no DID (items are did[:did_name], separated by ';')"),
        ('[{"did": 5503308}]', "did_list[0].did: must be a string, got 5503308"),
        ('[{"did": "1", "name": "x"}]', "did_list[0].name: unknown key"),
        ('{"did": "5503308"}', "must be a JSON array"),
        ('[{"did": "1"', "is not valid JSON"),
    ],
    ids=[
        "name-only", "second-item-name-only", "json-without-did", "json-empty-did",
        "json-blank-did", "separators-only", "json-number-did", "json-unknown-key", "json-object",
        "broken-json",
    ],
)  # fmt: skip
def test_bad_did_lists(trunk_type: str, cell: str, message: str) -> None:
    assert_one_error(row(trunk_type, did_list=cell), "did_list", message)


# --- several problems, and secrets ------------------------------------------------------------


def test_every_problem_of_a_row_is_reported_with_its_column() -> None:
    cells = row(
        "register", name="bad name", transport="sctp", port="50x", password="weakpass",
        codec_sel="ulaw,mpeg5", number="1001", enable="2", hostname=None,
        outbound_cid_list=caller_ids({**RANGE_CID, "outbound_cid_to_ext_range": None}),
    )  # fmt: skip
    columns = [column for column, _ in errors_of(cells)]
    assert sorted(columns) == sorted([
        "name", "transport", "port", "password", "codec_sel", "number", "enable", "hostname",
        "outbound_cid_list",
    ])  # fmt: skip


def test_a_peer_row_with_register_fields_reports_each_one() -> None:
    cells = row("peer", username="6701", password="aAc1653249", auth_name="6701", port=None)
    assert errors_of(cells) == [
        ("port", "required for a peer trunk"),
        ("username", "does not belong to a peer trunk (leave it empty)"),
        ("password", "does not belong to a peer trunk (leave it empty)"),
        ("auth_name", "does not belong to a peer trunk (leave it empty)"),
    ]


def test_an_unreadable_cell_is_not_also_reported_as_missing() -> None:
    assert errors_of(row("peer", port="x")) == [("port", "must be a whole number, got 'x'")]


SECRET = "weakpass"


@pytest.mark.parametrize(
    "cells",
    [
        row("register", password=SECRET),
        row("register", password=SECRET, port="0", name="a b", transport="x", codec_sel="x"),
        row("register", password=f" {SECRET}"),
        row("register", password=SECRET, type="regster"),
        row("register", password=SECRET, type=None),
        row("peer", password=SECRET),
        row("account", password=SECRET, hostname="h"),
        row("account", password=f"{SECRET} ", did_list="1"),
    ],
    ids=[
        "weak-register",
        "weak-and-more",
        "padded",
        "unknown-type",
        "no-type",
        "peer",
        "account-with-foreign",
        "account-padded",
    ],
)
def test_no_message_shows_the_password(cells: dict[str, str]) -> None:
    for _, message in errors_of(cells):
        assert SECRET not in message


# --- the bodies -------------------------------------------------------------------------------


def seed_cells(body: dict[str, Any]) -> dict[str, str]:
    """The seed example's body written the way an engineer would fill in a spreadsheet."""
    cells = {key: str(value) for key, value in body.items() if not isinstance(value, list)}
    cells["codec_sel"] = "ulaw, alaw, g729"
    cells["outbound_cid_list"] = json.dumps(body["outbound_cid_list"])
    cells["did_list"] = "5503308:Yeastar"
    return cells


def test_the_seed_example_as_a_row_gives_the_seed_body() -> None:
    assert body_of(seed_cells(SEED_BODY)) == SEED_BODY


# Tables 1, 5 and 9: the JSON type of every parameter.
SEED_JSON_TYPES = {
    **dict.fromkeys(
        ("name", "country", "type", "transport", "hostname", "domain", "username", "password",
         "auth_name", "number", "codec_sel", "itsp", "outbound_proxy_server", "def_outbound_cid",
         "def_outbound_cid_name"),
        str,
    ),
    **dict.fromkeys(("port", "enable", "enb_outbound_proxy", "outbound_proxy_port"), int),
    **dict.fromkeys(("outbound_cid_list", "did_list"), list),
}  # fmt: skip


@pytest.mark.parametrize("trunk_type", TYPES)
def test_a_full_row_gives_every_field_with_the_seeds_json_type(trunk_type: str) -> None:
    cells = row(trunk_type, **{field: OPTIONAL_VALUES[field][0] for field in OPTIONAL[trunk_type]})
    body = body_of(cells)
    assert set(body) == {*REQUIRED[trunk_type], *OPTIONAL[trunk_type]}
    for field, value in body.items():
        assert type(value) is SEED_JSON_TYPES[field], field


@pytest.mark.parametrize(
    ("trunk_type", "body"),
    [
        ("register", {
            "name": "acme-main", "country": "general", "type": "register", "transport": "udp",
            "hostname": "sip.provider.example", "port": 5060, "domain": "sip.provider.example",
            "username": "6701", "password": "aAc1653249", "auth_name": "6701",
            "codec_sel": "ulaw,alaw,g729",
        }),
        ("peer", {
            "name": "acme-carrier", "country": "general", "type": "peer", "transport": "udp",
            "hostname": "203.0.113.10", "port": 5060, "domain": "203.0.113.10",
            "codec_sel": "ulaw,alaw",
        }),
        ("account", {
            "name": "branch-gw", "country": "general", "type": "account", "transport": "tcp",
            "number": "1001", "password": "Gw4ay-Pass", "auth_name": "gw-branch",
            "codec_sel": "ulaw",
        }),
    ],
    ids=TYPES,
)  # fmt: skip
def test_a_minimal_row_gives_only_the_required_fields(
    trunk_type: str, body: dict[str, Any]
) -> None:
    assert body_of(row(trunk_type)) == body
    assert "pbx" not in body


@pytest.mark.parametrize("trunk_type", ["register", "account"])
def test_a_rows_request_never_shows_the_password_but_its_body_does(trunk_type: str) -> None:
    request = validate_row(row(trunk_type)).request
    password = VALID_ROWS[trunk_type]["password"]
    assert request is not None
    assert password not in repr(request)
    assert request.request_body()["password"] == password
