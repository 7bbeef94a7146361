"""The request models against the seed's tables: JSON bodies in, JSON bodies out."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from trunks.schema import (
    ACCOUNT_CODECS,
    API_FIELDS,
    PEER_CODECS,
    REGISTER_CODECS,
    AccountTrunk,
    DidItem,
    ExtensionInfo,
    OutCallerInfo,
    PeerTrunk,
    RegisterTrunk,
    parse_request_body,
)

# The seed's request example, verbatim from "Request example" (its two known doc bugs included).
SEED_EXAMPLE_TEXT = """{
        "name": "test_Calls",
        "country": "general",
        "type": "register",
        "transport": "dnsnaptr",
        "hostname": "abc.provider.com",
        "port": 5060,
        "domain": "abc.provider.com",
        "username": "6701",
        "password": "aAc1653249",
        "auth_name": "mubJwYEWs9",
        "codec_sel": "ulaw,alaw,g729",
        "def_outbound_cid": "5503300",
        "def_outbound_cid_name": "Yeastar",
        "outbound_cid_list": [
            {
                "outbound_cid_option": "shared",
                "outbound_cid": "5503301",
                "outbound_cid_name": "Yeastar Sales",
                "ext_list": [
                    {
                        "ext_number": "Yeastar Sales",
                        "ext_name": "Yeastar Sales",
                        "type": "ext_group"
                    }
                ]
            }
        ],
        "did_list": [
            {
                "did": "5503308",
                "did_name": "Yeastar"
            }
        ]
    }
}"""
SEED_EXT_GROUP_ID = 7


def fixed_seed_example() -> dict[str, Any]:
    """The seed's example with its doc bugs fixed: one closing brace less, and an ext id."""
    body: dict[str, Any] = json.loads(SEED_EXAMPLE_TEXT.rstrip().removesuffix("}"))
    body["outbound_cid_list"][0]["ext_list"][0]["id"] = SEED_EXT_GROUP_ID
    return body


SEED_BODY = fixed_seed_example()

# Table 1's parameters in its order; tables 5 and 9 keep the same relative order.
TABLE_1_ORDER = (
    "name", "country", "type", "transport", "hostname", "port", "domain", "username", "password",
    "auth_name", "codec_sel", "enable", "itsp", "enb_outbound_proxy", "outbound_proxy_server",
    "outbound_proxy_port", "def_outbound_cid", "def_outbound_cid_name", "outbound_cid_list",
    "did_list",
)  # fmt: skip
SEED_CODECS = (
    "ulaw", "alaw", "g729", "gsm", "h264", "h263", "h263p", "ilbc", "g722", "g726", "speex",
    "adpcm", "mpeg4", "vp8", "opus",
)  # fmt: skip
WEAK_PASSWORD = "weakpass"

PEER_BODY = {
    "name": "carrier", "country": "general", "type": "peer", "transport": "udp",
    "hostname": "203.0.113.10", "port": 5060, "domain": "203.0.113.10", "codec_sel": "ulaw",
}  # fmt: skip
ACCOUNT_BODY = {
    "name": "gw", "country": "general", "type": "account", "transport": "tcp", "number": "1001",
    "password": "x", "auth_name": "gw", "codec_sel": "ulaw",
}  # fmt: skip


def error_locs(exc: pytest.ExceptionInfo[ValidationError]) -> list[tuple[int | str, ...]]:
    """Where each error of a ValidationError points."""
    return [tuple(error["loc"]) for error in exc.value.errors()]


def test_the_verbatim_seed_example_is_not_json() -> None:
    with pytest.raises(json.JSONDecodeError, match="Extra data"):
        json.loads(SEED_EXAMPLE_TEXT)


def test_the_seed_example_without_an_ext_id_is_rejected_there() -> None:
    body = fixed_seed_example()
    del body["outbound_cid_list"][0]["ext_list"][0]["id"]
    with pytest.raises(ValidationError) as exc:
        parse_request_body(body)
    assert error_locs(exc) == [("register", "outbound_cid_list", 0, "ext_list", 0, "id")]


def test_the_fixed_seed_example_gives_back_the_same_body() -> None:
    trunk = parse_request_body(SEED_BODY)
    assert isinstance(trunk, RegisterTrunk)
    body = trunk.request_body()
    assert body == SEED_BODY
    assert list(body) == [field for field in TABLE_1_ORDER if field in SEED_BODY]
    assert json.loads(json.dumps(body)) == SEED_BODY


@pytest.mark.parametrize(
    ("model", "body"),
    [(RegisterTrunk, SEED_BODY), (PeerTrunk, PEER_BODY), (AccountTrunk, ACCOUNT_BODY)],
    ids=["register", "peer", "account"],
)
def test_the_type_picks_the_model_and_absent_fields_stay_out(
    model: type[RegisterTrunk | PeerTrunk | AccountTrunk], body: dict[str, Any]
) -> None:
    trunk = parse_request_body(body)
    assert type(trunk) is model
    assert trunk.request_body() == body


def test_codec_lists_are_the_seeds() -> None:
    assert REGISTER_CODECS == SEED_CODECS
    assert ACCOUNT_CODECS == SEED_CODECS
    assert [codec for codec in SEED_CODECS if codec != "mpeg4"] == list(PEER_CODECS)


def test_api_fields_are_the_products_trunk_columns_in_table_order() -> None:
    # Table 1 plus `number`, which only account trunks (table 9) have.
    assert set(API_FIELDS) == {*TABLE_1_ORDER, "number"}
    assert [field for field in API_FIELDS if field != "number"] == list(TABLE_1_ORDER)


def test_codec_sel_is_sent_as_one_string_without_spaces() -> None:
    trunk = parse_request_body({**PEER_BODY, "codec_sel": " ulaw , alaw,g722 "})
    assert trunk.request_body()["codec_sel"] == "ulaw,alaw,g722"


@pytest.mark.parametrize(
    ("changes", "loc"),
    [
        ({"port": "5060"}, ("peer", "port")),
        ({"port": 5060.0}, ("peer", "port")),
        ({"port": True}, ("peer", "port")),
        ({"enable": "1"}, ("peer", "enable")),
        ({"codec_sel": ["ulaw"]}, ("peer", "codec_sel")),
        ({"did_list": {"did": "1"}}, ("peer", "did_list")),
        ({"did_list": [{"did": 5503308}]}, ("peer", "did_list", 0, "did")),
        ({"name": ""}, ("peer", "name")),
        ({"username": "6701"}, ("peer", "username")),
    ],
    ids=[
        "port-as-string", "port-as-float", "port-as-bool", "enable-as-string", "codec-as-list",
        "did-list-as-object", "did-as-number", "empty-name", "foreign-username",
    ],
)  # fmt: skip
def test_bodies_are_validated_strictly(changes: dict[str, Any], loc: tuple[Any, ...]) -> None:
    with pytest.raises(ValidationError) as exc:
        parse_request_body({**PEER_BODY, **changes})
    assert error_locs(exc) == [loc]


@pytest.mark.parametrize(
    "body",
    [
        {**SEED_BODY, "password": WEAK_PASSWORD},
        {**SEED_BODY, "password": WEAK_PASSWORD, "port": 0, "number": "1"},
        {**SEED_BODY, "password": WEAK_PASSWORD, "type": "bogus"},
        {**{k: v for k, v in SEED_BODY.items() if k != "type"}, "password": WEAK_PASSWORD},
        {**PEER_BODY, "password": WEAK_PASSWORD},
        {**ACCOUNT_BODY, "password": [WEAK_PASSWORD]},
    ],
    ids=["weak", "weak-and-more", "unknown-type", "no-type", "foreign-on-peer", "not-a-string"],
)
def test_a_validation_error_never_shows_the_password(body: dict[str, Any]) -> None:
    with pytest.raises(ValidationError) as exc:
        parse_request_body(body)
    assert WEAK_PASSWORD not in str(exc.value)


@pytest.mark.parametrize(
    ("model", "body"),
    [(RegisterTrunk, SEED_BODY), (PeerTrunk, PEER_BODY), (AccountTrunk, ACCOUNT_BODY)],
    ids=["register", "peer", "account"],
)
def test_each_models_own_errors_never_show_the_password(
    model: type[RegisterTrunk | PeerTrunk | AccountTrunk], body: dict[str, Any]
) -> None:
    with pytest.raises(ValidationError) as exc:
        model.model_validate({**body, "password": WEAK_PASSWORD, "port": "x", "codec_sel": 1})
    assert WEAK_PASSWORD not in str(exc.value)


def test_only_the_request_body_shows_the_password() -> None:
    trunk = parse_request_body(SEED_BODY)
    assert "aAc1653249" not in repr(trunk)
    assert "aAc1653249" not in str(trunk.model_dump())
    assert trunk.request_body()["password"] == "aAc1653249"


def caller_id(option: str, **fields: Any) -> dict[str, Any]:
    """An OutCaller_Info object: the option, outbound_cid "1" unless given, then the rest."""
    return {"outbound_cid_option": option, "outbound_cid": "1", **fields}


@pytest.mark.parametrize(
    ("data", "valid"),
    [
        (caller_id("range", outbound_cid_to_ext_range="1000-1099"), True),
        (caller_id("shared", ext_list=[{"id": 1}]), True),
        (caller_id("range", outbound_cid_name="Sales", outbound_cid_to_ext_range="1-9"), True),
        (caller_id("range"), False),
        (caller_id("range", outbound_cid_to_ext_range=""), False),
        (caller_id("shared"), False),
        (caller_id("shared", ext_list=[]), False),
        (caller_id("other", outbound_cid_to_ext_range="1-9"), False),
        ({"outbound_cid_option": "range", "outbound_cid_to_ext_range": "1-9"}, False),
        (caller_id("range", outbound_cid="", outbound_cid_to_ext_range="1-9"), False),
        (caller_id("range", outbound_cid_to_ext_range="1-9", extra=1), False),
    ],
    ids=[
        "range", "shared", "range-with-name", "range-without-ext-range",
        "range-with-empty-ext-range", "shared-without-ext-list", "shared-with-empty-ext-list",
        "unknown-option", "no-outbound-cid", "empty-outbound-cid", "unknown-key",
    ],
)  # fmt: skip
def test_out_caller_info_table_2(data: dict[str, Any], valid: bool) -> None:
    if valid:
        assert OutCallerInfo.model_validate(data).request_body() == data
    else:
        with pytest.raises(ValidationError):
            OutCallerInfo.model_validate(data)


@pytest.mark.parametrize(
    ("data", "valid"),
    [
        ({"id": 12}, True),
        ({"id": 12, "type": "extension", "ext_number": "1001", "ext_name": "Front desk"}, True),
        ({"id": 12, "type": "ext_group"}, True),
        ({"type": "extension"}, False),
        ({"id": "12"}, False),
        ({"id": 12.0}, False),
        ({"id": 12, "type": "queue"}, False),
        ({"id": 12, "number": "1001"}, False),
    ],
    ids=[
        "id-only", "extension", "ext-group", "no-id", "id-as-string", "id-as-float",
        "unknown-type", "unknown-key",
    ],
)  # fmt: skip
def test_extension_info_table_3(data: dict[str, Any], valid: bool) -> None:
    if valid:
        assert ExtensionInfo.model_validate(data).request_body() == data
    else:
        with pytest.raises(ValidationError):
            ExtensionInfo.model_validate(data)


@pytest.mark.parametrize(
    ("data", "valid"),
    [
        ({"did": "5503308"}, True),
        ({"did": "5503308", "did_name": "Main"}, True),
        ({"did_name": "Main"}, False),
        ({"did": ""}, False),
        ({"did": 5503308}, False),
        ({"did": "5503308", "name": "Main"}, False),
    ],
    ids=["did", "did-and-name", "no-did", "empty-did", "did-as-number", "unknown-key"],
)
def test_did_list_table_4(data: dict[str, Any], valid: bool) -> None:
    if valid:
        assert DidItem.model_validate(data).request_body() == data
    else:
        with pytest.raises(ValidationError):
            DidItem.model_validate(data)
