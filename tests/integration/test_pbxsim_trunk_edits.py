"""trunk/get, trunk/query, trunk/update and trunk/delete over real HTTP, as Yeastar documents
them ("Query Information of a Trunk", "... of Multiple Trunks", "Edit a SIP Trunk", "Delete a
SIP Trunk")."""

from __future__ import annotations

from typing import Any

import pytest

from pbxsim import SimulatorThread
from tests.sim_fixtures import *  # noqa: F403
from tests.sim_fixtures import API_PBX, PbxApi, peer_body, register_body

PBX = API_PBX


def register_detail(trunk_id: int, caller_id_id: int) -> dict[str, Any]:
    """register_body("office") as trunk/get shows it: Trunk_Info's fields in the doc's order,
    defaults for what the create left out."""
    return {
        "id": trunk_id, "name": "office", "enable": 1, "country": "general", "itsp": "",
        "type": "register", "transport": "udp", "hostname": "sip.example.com", "port": 5060,
        "domain": "sip.example.com", "username": "6701", "password": "aAc1653249",
        "auth_name": "mubJwYEWs9", "enb_outbound_proxy": 0, "outbound_proxy_server": "",
        "outbound_proxy_port": 0, "codec_sel": "ulaw,alaw,g729", "def_outbound_cid": "5503300",
        "def_outbound_cid_name": "",
        "outbound_cid_list": [
            {
                "id": caller_id_id, "outbound_cid_option": "shared", "outbound_cid": "5503301",
                "outbound_cid_name": "",
                "ext_list": [{"type": "ext_group", "ext_number": "Sales", "ext_name": "", "id": 7}],
            }
        ],
        "did_list": [{"did": "5503308", "did_name": "Main"}],
    }  # fmt: skip


async def test_get_answers_the_detail_in_the_documented_shape(
    simulator: SimulatorThread, api: PbxApi
) -> None:
    [trunk_id] = simulator.preload_trunks(PBX, [register_body("office")])
    answer = await api.get("trunk/get", id=trunk_id)
    assert answer == {"errcode": 0, "errmsg": "SUCCESS", "data": register_detail(trunk_id, 1)}
    assert list(answer["data"]) == list(register_detail(trunk_id, 1))  # the doc's order
    missing = await api.get("trunk/get", id=99)
    assert missing["errcode"] == 40002
    assert missing["invalid_param_list"] == [
        {"field": "id", "value": "99", "validation_type": "not_exist"}
    ]
    assert (await api.get("trunk/get"))["invalid_param_list"][0]["validation_type"] == "missing"


async def test_each_type_shows_its_own_fields(simulator: SimulatorThread, api: PbxApi) -> None:
    account = {
        "name": "acc", "country": "general", "type": "account", "transport": "tls",
        "number": "6708", "password": "x", "auth_name": "6708", "codec_sel": "opus", "enable": 0,
    }  # fmt: skip
    peer_id, account_id = simulator.preload_trunks(PBX, [peer_body("home"), account])
    peer = (await api.get("trunk/get", id=peer_id))["data"]
    assert peer == {
        "id": peer_id, "name": "home", "enable": 1, "country": "general", "itsp": "",
        "type": "peer", "transport": "tcp", "hostname": "10.0.0.9", "port": 5060,
        "domain": "10.0.0.9", "codec_sel": "ulaw", "def_outbound_cid": "",
        "def_outbound_cid_name": "", "outbound_cid_list": [], "did_list": [],
    }  # fmt: skip
    shown = (await api.get("trunk/get", id=account_id))["data"]
    assert list(shown) == [
        "id", "name", "enable", "country", "itsp", "type", "transport", "number", "password",
        "auth_name", "codec_sel", "def_outbound_cid", "def_outbound_cid_name", "outbound_cid_list",
    ]  # fmt: skip
    assert (shown["enable"], shown["password"]) == (0, "x")


async def test_query_answers_an_array_of_details(simulator: SimulatorThread, api: PbxApi) -> None:
    office, home = simulator.preload_trunks(PBX, [register_body("office"), peer_body("home")])
    answer = await api.get("trunk/query", ids=f"{home},{office},99,{home}")
    assert answer["errcode"] == 0
    # In the order asked, each once; an id of no trunk is left out.
    assert [trunk["id"] for trunk in answer["data"]] == [home, office]
    assert answer["data"][1] == register_detail(office, 1)
    assert (await api.get("trunk/query", ids="99"))["data"] == []
    for ids in ("", "1, 2", "1;2", "x", "-1"):
        refused = await api.get("trunk/query", ids=ids)
        assert refused["invalid_param_list"] == [
            {"field": "ids", "value": ids, "validation_type": "int_list"}
        ]
    assert (await api.get("trunk/query"))["invalid_param_list"][0]["validation_type"] == "missing"


async def test_update_merges_checks_and_keeps_the_rest(
    simulator: SimulatorThread, api: PbxApi
) -> None:
    first, _ = simulator.preload_trunks(PBX, [register_body("office"), peer_body("home")])
    changed = await api.post("trunk/update", {"id": first, "port": 5080, "codec_sel": "g722"})
    assert changed == {"errcode": 0, "errmsg": "SUCCESS"}
    detail = (await api.get("trunk/get", id=first))["data"]
    assert detail == {**register_detail(first, 1), "port": 5080, "codec_sel": "g722"}
    bad = await api.post("trunk/update", {"id": first, "port": "x"})
    assert bad["invalid_param_list"] == [
        {"field": "port", "value": "x", "validation_type": "int_type"}
    ]
    taken = await api.post("trunk/update", {"id": first, "name": "home"})
    assert taken["errcode"] == 40003
    assert (await api.post("trunk/update", {"id": 42}))["invalid_param_list"][0][
        "validation_type"
    ] == "not_exist"
    assert (await api.post("trunk/update", {"id": str(first)}))["errcode"] == 40002
    assert (await api.post("trunk/update", data=b"[]"))["errcode"] == 40001
    assert simulator.counters(PBX)["updates"] == 1


@pytest.mark.parametrize(("field", "value"), [("type", "peer"), ("country", "Germany")])
async def test_update_cannot_change_what_the_create_fixed(
    simulator: SimulatorThread, api: PbxApi, field: str, value: str
) -> None:
    [trunk_id] = simulator.preload_trunks(PBX, [register_body("office")])
    refused = await api.post("trunk/update", {"id": trunk_id, field: value})
    assert refused == {
        "errcode": 40002,
        "errmsg": "PARAMETER ERROR",
        "invalid_param_list": [
            {"field": field, "value": value, "validation_type": "not_changeable"}
        ],
    }
    same = await api.post("trunk/update", {"id": trunk_id, "type": "register", "enable": 0})
    assert same["errcode"] == 0
    assert simulator.trunks(PBX)[0]["type"] == "register"


async def test_caller_id_items_get_new_ids_only_when_they_change(
    simulator: SimulatorThread, api: PbxApi
) -> None:
    one, two = simulator.preload_trunks(PBX, [register_body("office"), register_body("home")])
    assert (await api.get("trunk/get", id=two))["data"]["outbound_cid_list"][0]["id"] == 2
    await api.post("trunk/update", {"id": one, "enable": 0})
    assert (await api.get("trunk/get", id=one))["data"]["outbound_cid_list"][0]["id"] == 1
    items = [
        {"outbound_cid_option": "range", "outbound_cid": "9", "outbound_cid_to_ext_range": "1-2"}
    ]
    await api.post("trunk/update", {"id": one, "outbound_cid_list": items})
    [shown] = (await api.get("trunk/get", id=one))["data"]["outbound_cid_list"]
    assert shown == {
        "id": 3, "outbound_cid_option": "range", "outbound_cid": "9", "outbound_cid_name": "",
        "outbound_cid_to_ext_range": "1-2",
    }  # fmt: skip


async def test_delete_removes_the_trunk(simulator: SimulatorThread, api: PbxApi) -> None:
    [trunk_id] = simulator.preload_trunks(PBX, [peer_body("office")])
    assert await api.get("trunk/delete", id=trunk_id) == {"errcode": 0, "errmsg": "SUCCESS"}
    assert simulator.trunks(PBX) == []
    assert (await api.get("trunk/delete", id=trunk_id))["errcode"] == 40002
    assert (await api.post("trunk/delete", {"id": trunk_id}))["errcode"] == 10001  # a GET
    # The name is free again; ids are not reused.
    assert (await api.post("trunk/create", peer_body("office")))["id"] == 2


async def test_a_trunk_in_use_is_not_deleted(simulator: SimulatorThread, api: PbxApi) -> None:
    used, free = simulator.preload_trunks(PBX, [peer_body("used"), peer_body("free")])
    simulator.configure(PBX, trunks_in_use=["used"])
    assert await api.get("trunk/delete", id=used) == {
        "errcode": 70091,
        "errmsg": "CONNECTION_RELATION_EXISTED",
    }
    assert (await api.get("trunk/delete", id=free))["errcode"] == 0
    assert [trunk["name"] for trunk in simulator.trunks(PBX)] == ["used"]
    assert simulator.state(PBX)["trunks_in_use"] == ["used"]
    simulator.configure(PBX, trunks_in_use=[])
    assert (await api.get("trunk/delete", id=used))["errcode"] == 0
    assert simulator.counters(PBX)["deletes"] == 2


async def test_an_errcode_fault_answers_that_errcode_instead(
    simulator: SimulatorThread, api: PbxApi
) -> None:
    [trunk_id] = simulator.preload_trunks(PBX, [peer_body("office")])
    simulator.set_faults(
        [{"endpoint": "trunk/delete", "kind": "errcode", "errcode": 70091, "nth": 1}]
    )
    assert (await api.get("trunk/delete", id=trunk_id))["errcode"] == 70091
    assert len(simulator.trunks(PBX)) == 1  # refused before it was handled
    assert (await api.get("trunk/delete", id=trunk_id))["errcode"] == 0
