"""Validation answers, the trunk store, its details and the write log, without I/O."""

from __future__ import annotations

from pbxsim.trunk_store import TrunkStore, list_row
from pbxsim.validation import REDACTED, field_name, trunk_body_problems
from pbxsim.write_log import Subject, WriteLog
from tests.sim_fixtures import peer_body, register_body


def test_a_valid_body_has_no_problems() -> None:
    assert trunk_body_problems(register_body("office")) == []
    assert trunk_body_problems(peer_body("office")) == []


def test_problems_come_in_the_tables_order_then_unknown_fields() -> None:
    body = peer_body("bad name", port=70000, extra=1)
    problems = trunk_body_problems(body)
    assert problems == [
        {"field": "name", "value": "bad name", "validation_type": "trunk_name"},
        {"field": "port", "value": "70000", "validation_type": "range"},
        {"field": "extra", "value": "1", "validation_type": "unknown_field"},
    ]


def test_missing_fields_have_no_value_and_passwords_are_redacted() -> None:
    body = register_body("office", password="weak")
    del body["hostname"]
    problems = {problem["field"]: problem for problem in trunk_body_problems(body)}
    # "required": the word of Yeastar's own example of a 40002 answer.
    assert problems["hostname"] == {"field": "hostname", "value": "", "validation_type": "required"}
    assert problems["password"]["value"] == REDACTED


def test_values_that_are_not_text_are_shown_as_json() -> None:
    body = peer_body(
        "office",
        outbound_cid_list=[
            {"outbound_cid_option": "shared", "outbound_cid": "1", "ext_list": {"id": 7}}
        ],
    )
    [problem] = trunk_body_problems(body)
    assert problem == {
        "field": "outbound_cid_list[0].ext_list",
        "value": '{"id":7}',
        "validation_type": "list_type",
    }


def test_missing_type_is_reported_on_type() -> None:
    [problem] = trunk_body_problems({"name": "x", "type": 5})
    assert problem["field"] == "type"
    assert problem["value"] == "5"


def test_field_names() -> None:
    assert field_name(("outbound_cid_list", 0, "ext_list", 1, "id")) == (
        "outbound_cid_list[0].ext_list[1].id"
    )
    assert field_name(("port",)) == "port"


def test_store_ids_names_and_rows() -> None:
    store = TrunkStore()
    first = store.add(register_body("b-office"))
    second = store.add(peer_body("a-home"))
    assert (first, second) == (1, 2)
    assert store.id_of_name("a-home") == 2
    assert [row["name"] for row in store.rows("name")] == ["a-home", "b-office"]
    assert [row["id"] for row in store.rows("id", descending=True)] == [2, 1]
    assert [row["id"] for row in store.search("OFF")] == [1]
    store.replace(1, register_body("c-office"))
    assert store.id_of_name("b-office") is None
    assert store.id_of_name("c-office") == 1
    assert store.delete(2)
    assert not store.delete(2)
    assert store.add(peer_body("x")) == 3
    store.clear()
    assert store.add(peer_body("x")) == 1


def test_rows_per_trunk_type() -> None:
    account = {"id": 4, "name": "acc", "type": "account", "number": "800", "def_outbound_cid": "9"}
    assert list_row(account) == {
        "id": 4,
        "status": 1,
        "name": "acc",
        "type": "account",
        "host_port": "",
        "def_outbound_cid": "9",
        "username": "800",
    }
    register = {**register_body("r"), "id": 1}
    assert list_row(register)["status"] == 1
    assert list_row(register)["host_port"] == "sip.example.com:5060"


def test_stored_bodies_are_copies() -> None:
    store = TrunkStore()
    body = peer_body("office")
    store.add(body)
    body["port"] = 1
    fetched = store.get(1)
    assert fetched is not None
    fetched["port"] = 2
    assert store.all()[0]["port"] == 5060


def test_the_store_knows_which_trunks_a_create_made() -> None:
    store = TrunkStore()
    made = store.add(peer_body("made"), created=True)
    store.add(peer_body("preloaded"))
    assert store.made_by_create("made")
    assert not store.made_by_create("preloaded")
    assert not store.made_by_create("absent")
    store.replace(made, peer_body("renamed"))
    assert store.made_by_create("renamed")
    assert not store.made_by_create("made")
    store.delete(made)
    assert not store.made_by_create("renamed")


def test_the_write_log_counts_per_endpoint_and_name() -> None:
    log = WriteLog()
    log.note("trunk/create", Subject("office"), "0")
    log.note("trunk/create", Subject("office", made_by_create=True), "40003")
    log.note("trunk/create", Subject("office", made_by_create=True), "http503")
    log.note("trunk/delete", Subject("office"), "70091")
    assert log.snapshot() == {
        "creates_by_name": {
            "office": {
                "accepted": 1,
                "refused": {"40003": 1, "http503": 1},
                "sent_after_accepted": 2,
            }
        },
        "updates_by_name": {},
        "deletes_by_name": {"office": {"accepted": 0, "refused": {"70091": 1}}},
    }


def test_details_fill_in_the_defaults_and_number_caller_ids() -> None:
    store = TrunkStore()
    trunk_id = store.add(register_body("office", enable=0, outbound_cid_list=[]))
    detail = store.detail(trunk_id)
    assert detail is not None
    assert (detail["enable"], detail["itsp"], detail["outbound_proxy_port"]) == (0, "", 0)
    assert detail["outbound_cid_list"] == []
    assert store.detail(trunk_id + 1) is None
    # A body the tables refuse (pre-loaded unchecked) is shown as it was given.
    odd = store.add({"name": "odd", "type": "fax"})
    assert store.detail(odd) == {"name": "odd", "type": "fax", "id": odd}
