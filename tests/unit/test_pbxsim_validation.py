"""The simulator's own check of trunk bodies, case by case from the seed's tables 1-11 (and the
product contract's "Validation" for the register password and names): what a real PBX refuses."""

from __future__ import annotations

from typing import Any

import pytest

from pbxsim.validation import trunk_body_problems, update_problems

SEED_CODECS = (
    "ulaw", "alaw", "g729", "gsm", "h264", "h263", "h263p", "ilbc",
    "g722", "g726", "speex", "adpcm", "mpeg4", "vp8", "opus",
)  # fmt: skip


def register(**fields: Any) -> dict[str, Any]:
    """Table 1's required fields, the values of the seed's request example."""
    body = {
        "name": "test_Calls", "country": "general", "type": "register", "transport": "dnsnaptr",
        "hostname": "abc.provider.com", "port": 5060, "domain": "abc.provider.com",
        "username": "6701", "password": "aAc1653249", "auth_name": "mubJwYEWs9",
        "codec_sel": "ulaw,alaw,g729",
    }  # fmt: skip
    return {**body, **fields}


def peer(**fields: Any) -> dict[str, Any]:
    """Table 5's required fields."""
    body = {
        "name": "peer-to-41", "country": "general", "type": "peer", "transport": "udp",
        "hostname": "203.0.113.10", "port": 5060, "domain": "203.0.113.10", "codec_sel": "ulaw",
    }  # fmt: skip
    return {**body, **fields}


def account(**fields: Any) -> dict[str, Any]:
    """Table 9's required fields."""
    body = {
        "name": "account-for-34", "country": "general", "type": "account", "transport": "tcp",
        "number": "6708", "password": "x", "auth_name": "6708", "codec_sel": "alaw",
    }  # fmt: skip
    return {**body, **fields}


BUILDERS = {"register": register, "peer": peer, "account": account}
SHARED = {
    "outbound_cid_option": "shared",
    "outbound_cid": "5503301",
    "outbound_cid_name": "Yeastar Sales",
    "ext_list": [{"ext_number": "Sales", "ext_name": "Sales", "type": "ext_group", "id": 12}],
}
RANGE = {
    "outbound_cid_option": "range",
    "outbound_cid": "5503401",
    "outbound_cid_to_ext_range": "1000-1099",
}


def problems_of(body: dict[str, Any]) -> list[tuple[str, str]]:
    """(field, validation_type) of each problem, in the answer's order."""
    return [(p["field"], p["validation_type"]) for p in trunk_body_problems(body)]


def test_bodies_with_every_field_of_their_table_are_valid() -> None:
    callers = {
        "def_outbound_cid": "5503300", "def_outbound_cid_name": "Yeastar",
        "outbound_cid_list": [SHARED, RANGE], "enable": 0, "itsp": "general",
    }  # fmt: skip
    dids = {"did_list": [{"did": "5503308", "did_name": "Yeastar"}, {"did": "5503309"}]}
    proxy = {
        "enb_outbound_proxy": 1, "outbound_proxy_server": "proxy.example",
        "outbound_proxy_port": 5070,
    }  # fmt: skip
    assert problems_of(register(**callers, **dids, **proxy)) == []
    assert problems_of(peer(**callers, **dids)) == []
    assert problems_of(account(**callers)) == []
    # Optional lists may be empty, optional texts cleared.
    assert problems_of(peer(did_list=[], outbound_cid_list=[], def_outbound_cid="")) == []


REQUIRED = [
    *[("register", name) for name in ("name", "country", "type", "transport", "hostname", "port",
                                      "domain", "username", "password", "auth_name", "codec_sel")],
    *[("peer", name) for name in ("name", "country", "transport", "hostname", "port", "domain",
                                  "codec_sel")],
    *[("account", name) for name in ("name", "country", "transport", "number", "password",
                                     "auth_name", "codec_sel")],
]  # fmt: skip


@pytest.mark.parametrize(("trunk_type", "field"), REQUIRED)
def test_each_required_field_missing_or_empty(trunk_type: str, field: str) -> None:
    body = BUILDERS[trunk_type]()
    del body[field]
    assert problems_of(body) == [(field, "required")]
    if field not in ("type", "port"):
        for blank in ("", "  "):
            assert problems_of(BUILDERS[trunk_type](**{field: blank})) == [(field, "required")]


@pytest.mark.parametrize(
    ("trunk_type", "field", "value"),
    [
        ("peer", "username", "6701"),
        ("peer", "password", "aAc1653249"),
        ("peer", "auth_name", "a"),
        ("peer", "enb_outbound_proxy", 0),
        ("peer", "outbound_proxy_server", "proxy.example"),
        ("peer", "outbound_proxy_port", 5060),
        ("peer", "number", "6708"),
        ("account", "hostname", "abc.provider.com"),
        ("account", "port", 5060),
        ("account", "domain", "abc.provider.com"),
        ("account", "username", "6701"),
        ("account", "did_list", [{"did": "5503308"}]),
        ("account", "enb_outbound_proxy", 0),
        ("register", "number", "6708"),
    ],
)
def test_a_field_of_another_type_is_refused_not_dropped(
    trunk_type: str, field: str, value: Any
) -> None:
    assert problems_of(BUILDERS[trunk_type](**{field: value})) == [(field, "not_for_type")]


@pytest.mark.parametrize("field", ["id", "extra", "Name", "trunk_name", "codecs"])
def test_an_unknown_field_is_refused(field: str) -> None:
    assert problems_of(peer(**{field: "1"})) == [(field, "unknown_field")]


@pytest.mark.parametrize(
    ("value", "kind"),
    [(None, "required"), (5, "string_type"), ("sip", "enum"), ("Register", "enum")],
)
def test_a_missing_or_unknown_type_is_the_only_problem(value: Any, kind: str) -> None:
    body = register(name="bad name", port="x")
    if value is None:
        del body["type"]
    else:
        body["type"] = value
    assert problems_of(body) == [("type", kind)]


@pytest.mark.parametrize("transport", ["udp", "tcp", "tls", "dnsnaptr"])
def test_transports_per_type(transport: str) -> None:
    assert problems_of(register(transport=transport)) == []
    assert problems_of(peer(transport=transport)) == []
    account_problems = [] if transport != "dnsnaptr" else [("transport", "enum")]
    assert problems_of(account(transport=transport)) == account_problems
    assert problems_of(peer(transport=transport.upper())) == [("transport", "enum")]


@pytest.mark.parametrize(
    ("field", "value", "kind"),
    [
        ("port", "5060", "int_type"),  # a string where the seed says Integer
        ("port", 5060.0, "int_type"),
        ("port", True, "int_type"),
        ("port", None, "int_type"),
        ("port", 0, "range"),
        ("port", 65536, "range"),
        ("outbound_proxy_port", 0, "range"),
        ("outbound_proxy_port", "5060", "int_type"),
        ("enable", 2, "enum"),
        ("enable", -1, "enum"),
        ("enable", "1", "int_type"),
        ("enable", True, "int_type"),
        ("enb_outbound_proxy", 2, "enum"),
    ],
)
def test_integers_are_json_integers_in_range(field: str, value: Any, kind: str) -> None:
    assert problems_of(register(**{field: value})) == [(field, kind)]


@pytest.mark.parametrize("port", [1, 65535])
def test_port_bounds_are_valid(port: int) -> None:
    assert problems_of(peer(port=port)) == []
    assert problems_of(register(outbound_proxy_port=port)) == []


@pytest.mark.parametrize("codec", SEED_CODECS)
def test_each_seed_codec_per_type(codec: str) -> None:
    assert problems_of(register(codec_sel=codec)) == []
    assert problems_of(account(codec_sel=codec)) == []
    peer_problems = [("codec_sel", "enum")] if codec == "mpeg4" else []
    assert problems_of(peer(codec_sel=codec)) == peer_problems


@pytest.mark.parametrize(
    ("codec_sel", "kind"),
    [
        ("ulaw,alaw,ulaw", "duplicate"),
        ("ulaw, alaw", "enum"),
        ("ulaw,,alaw", "enum"),
        ("ulaw,", "enum"),
        ("ULAW", "enum"),
        ("g711", "enum"),
        (["ulaw", "alaw"], "string_type"),
    ],
)
def test_codec_lists(codec_sel: Any, kind: str) -> None:
    assert problems_of(register(codec_sel=codec_sel)) == [("codec_sel", kind)]


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("x" * 64, "max_length"),
        ("bad name", "trunk_name"),
        ("trunk/1", "trunk_name"),
        ("café", "trunk_name"),
        ("a\u200bb", "trunk_name"),
        (7, "string_type"),
    ],
)
def test_names_the_pbx_refuses(name: Any, kind: str) -> None:
    assert problems_of(peer(name=name)) == [("name", kind)]


@pytest.mark.parametrize("name", ["x" * 63, "a", "Local_Calls", "peer-to-41", "v1.2_b-3"])
def test_names_the_pbx_takes(name: str) -> None:
    assert problems_of(peer(name=name)) == []


@pytest.mark.parametrize(
    "password",
    [
        "aAc165324",  # 9 characters
        "aac1653249",  # no upper-case letter
        "AAC1653249",  # no lower-case letter
        "aAcdefghij",  # no digit
        "aAcdefghi\u00b2\u0663",  # a superscript and an Arabic-Indic digit are no ASCII digits
    ],
)
def test_a_weak_register_password_is_refused_and_never_echoed(password: str) -> None:
    [problem] = trunk_body_problems(register(password=password))
    assert problem == {
        "field": "password",
        "value": "******",
        "validation_type": "register_password",
    }


def test_passwords_are_never_echoed_whatever_the_problem() -> None:
    for body in (register(password=12345678901), account(password=["aAc1653249"])):
        [problem] = trunk_body_problems(body)
        assert (problem["value"], problem["validation_type"]) == ("******", "string_type")


def test_an_account_password_has_no_strength_rule() -> None:
    assert problems_of(account(password="1")) == []


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        ({**SHARED, "outbound_cid_option": "both"}, [("outbound_cid_option", "enum")]),
        ({k: v for k, v in SHARED.items() if k != "outbound_cid_option"},
         [("outbound_cid_option", "required")]),
        ({k: v for k, v in SHARED.items() if k != "outbound_cid"}, [("outbound_cid", "required")]),
        ({k: v for k, v in RANGE.items() if k != "outbound_cid_to_ext_range"},
         [("outbound_cid_to_ext_range", "required")]),
        ({k: v for k, v in SHARED.items() if k != "ext_list"}, [("ext_list", "required")]),
        ({**SHARED, "ext_list": []}, [("ext_list", "required")]),
        ({**RANGE, "ext_list": SHARED["ext_list"]}, [("ext_list", "not_for_option")]),
        ({**SHARED, "outbound_cid_to_ext_range": "1000-1099"},
         [("outbound_cid_to_ext_range", "not_for_option")]),
        ({**RANGE, "did": "1"}, [("did", "unknown_field")]),
        ({**RANGE, "outbound_cid": 5503401}, [("outbound_cid", "string_type")]),
        ({**SHARED, "ext_list": "12"}, [("ext_list", "list_type")]),
    ],
)  # fmt: skip
def test_out_caller_info(item: dict[str, Any], expected: list[tuple[str, str]]) -> None:
    prefixed = [(f"outbound_cid_list[1].{field}", kind) for field, kind in expected]
    assert problems_of(peer(outbound_cid_list=[RANGE, item])) == prefixed


@pytest.mark.parametrize(
    ("extension", "expected"),
    [
        ({"ext_number": "1000"}, [("id", "required")]),
        ({"id": "7"}, [("id", "int_type")]),
        ({"id": 0}, [("id", "range")]),
        ({"id": 7, "type": "user"}, [("type", "enum")]),
        ({"id": 7, "number": "1000"}, [("number", "unknown_field")]),
    ],
)
def test_extension_info(extension: dict[str, Any], expected: list[tuple[str, str]]) -> None:
    caller = {**SHARED, "ext_list": [{"id": 1, "type": "extension"}, extension]}
    prefixed = [(f"outbound_cid_list[0].ext_list[1].{field}", kind) for field, kind in expected]
    assert problems_of(register(outbound_cid_list=[caller])) == prefixed


def test_the_seeds_own_request_example_lacks_the_extension_id_table_3_requires() -> None:
    ext = {"ext_number": "Yeastar Sales", "ext_name": "Yeastar Sales", "type": "ext_group"}
    body = register(outbound_cid_list=[{**SHARED, "ext_list": [ext]}])
    assert problems_of(body) == [("outbound_cid_list[0].ext_list[0].id", "required")]


@pytest.mark.parametrize(
    ("did_list", "expected"),
    [
        ([{"did_name": "Main"}], [("did_list[0].did", "required")]),
        ([{"did": " "}], [("did_list[0].did", "required")]),
        ([{"did": 5503308}], [("did_list[0].did", "string_type")]),
        ([{"did": "5503308", "id": 3}], [("did_list[0].id", "unknown_field")]),
        (["5503308"], [("did_list[0]", "object_type")]),
        ("5503308:Main", [("did_list", "list_type")]),
    ],
)
def test_did_list(did_list: Any, expected: list[tuple[str, str]]) -> None:
    assert problems_of(register(did_list=did_list)) == expected


def test_an_enabled_outbound_proxy_needs_its_server() -> None:
    assert problems_of(register(enb_outbound_proxy=1)) == [("outbound_proxy_server", "required")]
    assert problems_of(register(enb_outbound_proxy=0)) == []


@pytest.mark.parametrize("text", ["sip\x00.example", "sip\x1b[31m.example", "sip\t.example"])
def test_control_characters_are_refused(text: str) -> None:
    assert problems_of(peer(hostname=text)) == [("hostname", "control_character")]


def test_display_names_may_hold_a_tab_and_nothing_else_of_control() -> None:
    assert problems_of(register(did_list=[{"did": "1", "did_name": "Main\tline"}])) == []
    refused = register(def_outbound_cid_name="Acme\x07")
    assert problems_of(refused) == [("def_outbound_cid_name", "control_character")]


def test_a_sloppy_body_gets_every_problem_in_the_tables_order() -> None:
    body = peer(
        name="x" * 64, port="5060", codec_sel="ulaw,mpeg4", enable=True, username="6701",
        did_list=[{"did": "1"}, {"did": "1", "did_nam": "typo"}],
    )  # fmt: skip
    assert problems_of(body) == [
        ("name", "max_length"),
        ("port", "int_type"),
        ("codec_sel", "enum"),
        ("enable", "int_type"),
        ("did_list[1].did_nam", "unknown_field"),
        ("username", "not_for_type"),
    ]


@pytest.mark.parametrize("field", ["type", "country", "itsp"])
def test_an_update_cannot_change_what_the_create_fixed(field: str) -> None:
    stored = register(itsp="Twilio")
    [problem] = update_problems(stored, {field: "peer" if field == "type" else "Germany"})
    assert (problem["field"], problem["validation_type"]) == (field, "not_changeable")
    # The same value changes nothing, and is no problem.
    assert update_problems(stored, {field: stored[field]}) == []


def test_an_update_is_checked_as_the_trunk_it_makes() -> None:
    stored = register()
    assert update_problems(stored, {"port": 5080, "codec_sel": "g722"}) == []
    assert [p["field"] for p in update_problems(stored, {"port": "5080"})] == ["port"]
    # A peer has no password to set.
    peer_problems = update_problems(peer(), {"password": "aAc1653249"})
    assert [(p["field"], p["value"]) for p in peer_problems] == [("password", "******")]
    # Setting the proxy on means giving its server, in this update or before.
    assert [p["field"] for p in update_problems(stored, {"enb_outbound_proxy": 1})] == [
        "outbound_proxy_server"
    ]
