"""The writes each PBX counts per trunk name (creates, updates, deletes), over real HTTP: what the
end-to-end tests read to prove that no trunk was created twice."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from pbxsim import SimulatorThread
from tests.e2e import assert_delivered_once, create_counts
from tests.sim_fixtures import *  # noqa: F403
from tests.sim_fixtures import API_PBX, PbxApi, peer_body, register_body

PBX = API_PBX


def tally(accepted: int = 0, after: int | None = None, **refused: int) -> dict[str, Any]:
    """One name's count; refusals by errcode as `e40003=1`, or by fault kind."""
    counted = {key.removeprefix("e").replace("_", "-"): n for key, n in refused.items()}
    if after is None:
        return {"accepted": accepted, "refused": counted}
    return {"accepted": accepted, "refused": counted, "sent_after_accepted": after}


async def test_creates_are_counted_per_name_accepted_and_refused(
    simulator: SimulatorThread, api: PbxApi
) -> None:
    simulator.preload_trunks(PBX, [peer_body("there-before")])
    assert (await api.post("trunk/create", peer_body("office")))["errcode"] == 0
    assert (await api.post("trunk/create", peer_body("office")))["errcode"] == 40003
    assert (await api.post("trunk/create", peer_body("there-before")))["errcode"] == 40003
    assert (await api.post("trunk/create", peer_body("bad", port="1")))["errcode"] == 40002
    assert (await api.post("trunk/create", {"type": "peer"}))["errcode"] == 40002
    assert (await api.post("trunk/create", data=b"nope"))["errcode"] == 40001
    assert simulator.creates_by_name(PBX) == {
        "office": tally(1, after=1, e40003=1),
        # A trunk pre-loaded (or made by anything but trunk/create) is no create of a client's.
        "there-before": tally(0, after=0, e40003=1),
        "bad": tally(0, after=0, e40002=1),
        "": tally(0, after=0, e40002=1, e40001=1),
    }


async def test_creates_refused_before_handling_are_counted_by_what_answered(
    simulator: SimulatorThread, api: PbxApi, http: aiohttp.ClientSession
) -> None:
    simulator.set_faults(
        [
            {"endpoint": "trunk/create", "kind": "errcode-2", "nth": 1},
            {"endpoint": "trunk/create", "kind": "http503", "nth": 2},
            {"endpoint": "trunk/create", "kind": "drop_after", "nth": 3},
        ]
    )
    url = f"{api.base_url}/openapi/v1.0/trunk/create"
    for _ in range(3):
        try:
            async with http.post(url, params={"access_token": api.token}, json=peer_body("office")):
                pass
        except aiohttp.ClientError:
            pass  # the third is stored, then its connection dropped
    expired = {"access_token": "not-a-token"}
    async with http.post(url, params=expired, json=peer_body("office")) as response:
        assert (await response.json())["errcode"] == 10004
    assert simulator.creates_by_name(PBX) == {
        "office": tally(1, after=1, e_2=1, http503=1, e10004=1)
    }


async def test_updates_and_deletes_are_counted_under_the_trunks_name(
    simulator: SimulatorThread, api: PbxApi
) -> None:
    office, home = simulator.preload_trunks(PBX, [register_body("office"), peer_body("home")])
    simulator.configure(PBX, trunks_in_use=["home"])
    await api.post("trunk/update", {"id": office, "port": 5080})
    await api.post("trunk/update", {"id": office, "type": "peer"})
    await api.post("trunk/update", {"id": office, "name": "renamed"})
    await api.post("trunk/update", {"id": 99, "port": 5080})
    await api.get("trunk/delete", id=home)
    await api.get("trunk/delete", id=office)
    await api.get("trunk/delete", id=office)
    assert simulator.updates_by_name(PBX) == {"office": tally(2, e40002=1), "": tally(e40002=1)}
    assert simulator.deletes_by_name(PBX) == {
        "home": tally(e70091=1),
        "renamed": tally(1),
        "": tally(e40002=1),
    }


async def test_the_counts_are_in_the_state_and_a_reset_clears_them(
    simulator: SimulatorThread, api: PbxApi, http: aiohttp.ClientSession
) -> None:
    await api.post("trunk/create", peer_body("office"))
    async with http.get(f"{simulator.root_url}/_sim/pbx/{PBX}") as response:
        state = await response.json()
    assert state["creates_by_name"] == {"office": tally(1, after=0)}
    assert (state["updates_by_name"], state["deletes_by_name"]) == ({}, {})
    assert simulator.creates_by_name("pbx-002") == {}
    simulator.reset(PBX)
    assert simulator.creates_by_name(PBX) == {}
    # Counted from zero again (the reset revoked the token too).
    await api.post("trunk/create", peer_body("office"))
    assert simulator.creates_by_name(PBX) == {"office": tally(0, after=0, e10004=1)}


async def test_a_create_after_the_trunk_was_deleted_is_no_resend(
    simulator: SimulatorThread, api: PbxApi
) -> None:
    trunk_id = (await api.post("trunk/create", peer_body("office")))["id"]
    await api.get("trunk/delete", id=trunk_id)
    await api.post("trunk/create", peer_body("office"))
    assert simulator.creates_by_name(PBX) == {"office": tally(2, after=0)}


async def test_the_end_to_end_assertion_catches_a_create_sent_twice(
    simulator: SimulatorThread, api: PbxApi
) -> None:
    # What the suite once let pass: a second create, refused by the PBX itself (40003), and the
    # item still recorded `succeeded`.
    await api.post("trunk/create", peer_body("office"))
    before = create_counts(simulator)
    records = [{"pbx": PBX, "name": "office", "state": "succeeded"}]
    assert_delivered_once(simulator, records)
    await api.post("trunk/create", peer_body("office"))
    with pytest.raises(AssertionError, match="sent_after_accepted': 1"):
        assert_delivered_once(simulator, records)
    # Counted from a baseline, the second create is a job's own: it created nothing.
    with pytest.raises(AssertionError, match="'accepted': 0"):
        assert_delivered_once(simulator, records, before=before)
    assert_delivered_once(simulator, [{**records[0], "state": "exists"}], before=before)
