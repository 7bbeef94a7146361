"""The trunk endpoints over real HTTP: create, validation, duplicates, list, search, itsp_list.

get, query, update and delete: test_pbxsim_trunk_edits.py."""

from __future__ import annotations

import pytest

from pbxsim import SimulatorThread
from tests.sim_fixtures import *  # noqa: F403
from tests.sim_fixtures import API_PBX, PbxApi, peer_body, register_body

PBX = API_PBX


async def test_create_stores_the_body_as_received(simulator: SimulatorThread, api: PbxApi) -> None:
    body = register_body("office")
    assert await api.post("trunk/create", body) == {"errcode": 0, "errmsg": "SUCCESS", "id": 1}
    assert (await api.post("trunk/create", peer_body("office2")))["id"] == 2
    assert simulator.trunks(PBX)[0] == {**body, "id": 1}
    assert simulator.counters(PBX)["creates"] == 2
    # Ids count per PBX.
    assert simulator.trunks("pbx-002") == []


async def test_invalid_fields_are_listed(api: PbxApi) -> None:
    body = register_body("office", port="5060", password="short")
    body["outbound_cid_list"][0]["ext_list"][0]["id"] = "seven"
    answer = await api.post("trunk/create", body)
    assert answer["errcode"] == 40002
    assert answer["errmsg"] == "PARAMETER ERROR"
    assert answer["invalid_param_list"] == [
        {"field": "port", "value": "5060", "validation_type": "int_type"},
        {"field": "password", "value": "******", "validation_type": "register_password"},
        {
            "field": "outbound_cid_list[0].ext_list[0].id",
            "value": "seven",
            "validation_type": "int_type",
        },
    ]


@pytest.mark.parametrize("trunk_type", [None, "sip"])
async def test_a_missing_or_unknown_type_is_a_parameter_error(
    api: PbxApi, trunk_type: str | None
) -> None:
    body = peer_body("office")
    body.pop("type")
    if trunk_type is not None:
        body["type"] = trunk_type
    answer = await api.post("trunk/create", body)
    assert answer["errcode"] == 40002
    assert answer["invalid_param_list"][0]["field"] == "type"
    assert answer["invalid_param_list"][0]["value"] == (trunk_type or "")


@pytest.mark.parametrize("raw", [b"not json", b"[1, 2]", b'"text"', b""])
async def test_a_body_that_is_not_an_object_is_a_syntax_error(api: PbxApi, raw: bytes) -> None:
    answer = await api.post("trunk/create", data=raw)
    assert answer == {"errcode": 40001, "errmsg": "PARAMETER SYNTAX ERROR"}


async def test_a_taken_name_is_a_duplicate(simulator: SimulatorThread, api: PbxApi) -> None:
    simulator.preload_trunks(PBX, [peer_body("office")])
    answer = await api.post("trunk/create", register_body("office"))
    assert answer == {
        "errcode": 40003,
        "errmsg": "DUPLICATE KEY VALUE",
        "duplicate_field_list": [{"field": "name", "value": "office"}],
    }
    assert simulator.counters(PBX)["duplicates"] == 1
    assert len(simulator.trunks(PBX)) == 1


async def test_a_trunk_quota_answers_max_limitation(
    simulator: SimulatorThread, api: PbxApi
) -> None:
    simulator.configure(PBX, trunk_quota=1)
    assert (await api.post("trunk/create", peer_body("a")))["errcode"] == 0
    assert (await api.post("trunk/create", peer_body("b")))["errcode"] == 60002
    assert simulator.counters(PBX)["quota_hits"] == 1


async def test_list_rows_paging_and_sorting(simulator: SimulatorThread, api: PbxApi) -> None:
    names = [f"t{index:02d}" for index in range(12)]
    simulator.preload_trunks(PBX, [peer_body(name) for name in reversed(names)])
    simulator.preload_trunks(PBX, [register_body("reg", enable=0)])
    first = await api.get("trunk/list")
    assert first["total_number"] == 13
    assert [row["id"] for row in first["data"]] == list(range(1, 11))
    assert first["data"][0] == {
        "id": 1,
        "status": 1,
        "name": "t11",
        "type": "peer",
        "host_port": "10.0.0.9:5060",
        "def_outbound_cid": "",
        "username": "",
    }
    second = await api.get("trunk/list", page=2)
    assert [row["id"] for row in second["data"]] == [11, 12, 13]
    assert second["data"][-1]["username"] == "6701"
    assert second["data"][-1]["status"] == 44
    by_name = await api.get("trunk/list", sort_by="name", order_by="desc", page_size=3)
    assert [row["name"] for row in by_name["data"]] == ["t11", "t10", "t09"]
    huge = await api.get("trunk/list", page_size=1000)
    assert len(huge["data"]) == 13
    assert (await api.get("trunk/list", page=9))["data"] == []


@pytest.mark.parametrize(
    ("params", "field"),
    [({"page": 0}, "page"), ({"page_size": "x"}, "page_size"), ({"sort_by": "pw"}, "sort_by")],
)
async def test_bad_paging_parameters_are_refused(
    api: PbxApi, params: dict[str, str | int], field: str
) -> None:
    answer = await api.get("trunk/list", **params)
    assert answer["errcode"] == 40002
    assert answer["invalid_param_list"][0]["field"] == field


async def test_search_is_fuzzy_and_paged(simulator: SimulatorThread, api: PbxApi) -> None:
    bodies = [peer_body(name) for name in ("office", "Office2", "my-office", "home")]
    bodies += [register_body(f"office-{index}") for index in range(4)]
    simulator.preload_trunks(PBX, bodies)
    first = await api.get("trunk/search", search_value="office")
    assert first["total_number"] == 7
    assert [row["name"] for row in first["data"]] == [
        "office", "Office2", "my-office", "office-0", "office-1",
    ]  # fmt: skip
    second = await api.get("trunk/search", search_value="office", page=2)
    assert [row["name"] for row in second["data"]] == ["office-2", "office-3"]
    peers = await api.get("trunk/search", search_value="PEER", page_size=10)
    assert {row["name"] for row in peers["data"]} == {"office", "Office2", "my-office", "home"}
    assert (await api.get("trunk/search"))["errcode"] == 40002


async def test_itsp_list_includes_general(api: PbxApi) -> None:
    answer = await api.get("trunk/itsp_list")
    assert answer["errcode"] == 0
    assert {"id": 1, "country": "general", "name": "general"} in answer["data"]
    assert all(set(item) == {"id", "country", "name"} for item in answer["data"])
