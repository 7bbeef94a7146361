"""The comparison rules of desired state (trunks.compare): no I/O."""

from __future__ import annotations

from typing import Any

import pytest

from trunks.compare import (
    changes,
    conflicts,
    drifted,
    masked,
    pbx_detail,
    same_value,
    values_of,
)

# What a PBX answers for a register trunk (trunk/get), with its defaults for what was never set.
DETAIL: dict[str, Any] = {
    "id": 8, "name": "carrier", "enable": 1, "country": "general", "itsp": "", "type": "register",
    "transport": "udp", "hostname": "sip.example.net", "port": 5060, "domain": "sip.example.net",
    "username": "u1", "password": "Secret0001Pw", "auth_name": "a1", "enb_outbound_proxy": 0,
    "outbound_proxy_server": "", "outbound_proxy_port": 0, "codec_sel": "ulaw,alaw",
    "def_outbound_cid": "", "def_outbound_cid_name": "",
    "outbound_cid_list": [
        {"id": 11, "outbound_cid_option": "shared", "outbound_cid": "5503301",
         "outbound_cid_name": "", "ext_list": [
             {"type": "extension", "ext_number": "1000", "ext_name": "Ann", "id": 7}]},
    ],
    "did_list": [{"did": "5503308", "did_name": "Main"}, {"did": "5503309", "did_name": ""}],
}  # fmt: skip
ROW: dict[str, Any] = {
    "name": "carrier", "country": "general", "type": "register", "transport": "udp",
    "hostname": "sip.example.net", "port": 5060, "domain": "sip.example.net", "username": "u1",
    "password": "Secret0001Pw", "auth_name": "a1", "codec_sel": "ulaw,alaw",
}  # fmt: skip


def test_a_row_that_sets_what_the_pbx_holds_has_no_changes() -> None:
    assert changes(ROW, DETAIL) == {}
    assert conflicts(ROW, DETAIL) == []


def test_only_the_fields_the_row_sets_are_compared() -> None:
    drifted_pbx = {**DETAIL, "def_outbound_cid": "999", "enable": 0}
    assert changes(ROW, drifted_pbx) == {}
    assert changes({**ROW, "enable": 1}, drifted_pbx) == {"enable": (0, 1)}


def test_integers_compare_as_integers_and_absent_fields_as_the_pbx_default() -> None:
    assert same_value("port", "5060", 5060)
    assert not same_value("port", 5061, 5060)
    assert same_value("enable", None, 1)
    assert same_value("outbound_proxy_port", None, 0)
    assert same_value("outbound_proxy_server", None, "")
    assert changes({"name": "x", "enable": 1}, {"name": "x"}) == {}


def test_codecs_are_an_ordered_list_with_spaces_ignored() -> None:
    assert same_value("codec_sel", "ulaw, alaw", "ulaw,alaw")
    assert not same_value("codec_sel", "alaw,ulaw", "ulaw,alaw")
    assert changes({**ROW, "codec_sel": "alaw,ulaw"}, DETAIL) == {
        "codec_sel": ("ulaw,alaw", "alaw,ulaw")
    }


def test_dids_are_a_set_of_pairs_with_an_absent_name_equal_to_empty() -> None:
    row_dids = [{"did": "5503309"}, {"did": "5503308", "did_name": "Main"}]
    assert same_value("did_list", DETAIL["did_list"], row_dids)
    assert not same_value("did_list", DETAIL["did_list"], [{"did": "5503308", "did_name": "Main"}])
    assert not same_value("did_list", DETAIL["did_list"], [{"did": "5503308"}, {"did": "5503309"}])
    assert same_value("did_list", None, [])


def test_caller_ids_ignore_the_pbx_ids_and_extension_descriptions() -> None:
    row_cids = [
        {"outbound_cid_option": "shared", "outbound_cid": "5503301", "ext_list": [{"id": 7}]}
    ]
    assert same_value("outbound_cid_list", DETAIL["outbound_cid_list"], row_cids)
    other_extension = [{**row_cids[0], "ext_list": [{"id": 8}]}]
    assert not same_value("outbound_cid_list", DETAIL["outbound_cid_list"], other_extension)
    group = [{**row_cids[0], "ext_list": [{"id": 7, "type": "ext_group"}]}]
    assert not same_value("outbound_cid_list", DETAIL["outbound_cid_list"], group)
    named = [{**row_cids[0], "outbound_cid_name": "Sales"}]
    assert not same_value("outbound_cid_list", DETAIL["outbound_cid_list"], named)


def test_caller_ids_keep_their_order() -> None:
    first = {"outbound_cid_option": "range", "outbound_cid": "1", "outbound_cid_to_ext_range": "1"}
    second = {**first, "outbound_cid": "2"}
    assert not same_value("outbound_cid_list", [first, second], [second, first])


@pytest.mark.parametrize("field", ["type", "country", "itsp"])
def test_a_field_fixed_at_create_is_a_conflict_not_a_change(field: str) -> None:
    row = {**ROW, field: "peer" if field == "type" else "Germany"}
    assert conflicts(row, DETAIL) == [field]
    assert field not in changes(row, DETAIL)


def test_passwords_are_masked_on_both_sides() -> None:
    found = changes({**ROW, "password": "Other0002Pw", "port": 5070}, DETAIL)
    assert masked(found) == {
        "password": {"old": "***", "new": "***"},
        "port": {"old": 5060, "new": 5070},
    }


def test_masked_old_values_show_the_pbx_default() -> None:
    assert masked(changes({"name": "x", "enable": 0}, {"name": "x"})) == {
        "enable": {"old": 1, "new": 0}
    }


def test_drift_between_two_reads() -> None:
    later = {**DETAIL, "codec_sel": "ulaw", "did_list": list(reversed(DETAIL["did_list"]))}
    assert drifted(["codec_sel", "did_list", "port"], DETAIL, later) == ["codec_sel"]
    assert values_of(["port", "enable"], {"port": 5060}) == {"port": 5060, "enable": 1}


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"id": 1, "name": "t"}, {"id": 1, "name": "t"}),
        ([{"id": 1, "name": "t"}], {"id": 1, "name": "t"}),
        ([], None),
        ({}, None),
        (None, None),
        ("text", None),
        ([{"id": 1}, {"id": 2}], None),
    ],
)
def test_a_trunk_detail_is_an_object_or_an_array_of_one(data: Any, expected: Any) -> None:
    assert pbx_detail(data) == expected
