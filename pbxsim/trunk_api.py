"""The trunk endpoints: create, update, list, search, get, query, delete, itsp_list."""

from __future__ import annotations

from typing import Any

from pbxsim.call import ApiCall, ParamError
from pbxsim.errcodes import (
    CONNECTION_RELATION_EXISTED,
    DUPLICATE_KEY_VALUE,
    MAX_LIMITATION_EXCEEDED,
    PARAMETER_SYNTAX_ERROR,
    Answer,
    answer,
    param_error,
    success,
)
from pbxsim.pbx import Pbx
from pbxsim.trunk_store import SORT_FIELDS
from pbxsim.validation import trunk_body_problems, update_problems

LIST_PAGE_SIZE = 10
# Small on purpose: search is fuzzy, so a client looking for one name must page through.
SEARCH_PAGE_SIZE = 5
MAX_PAGE_SIZE = 100
# The validation_type of an `id` that names no trunk (answered with 40002).
NOT_EXIST = "not_exist"

ITSP_TEMPLATES = (
    {"id": 1, "country": "general", "name": "general"},
    {"id": 2, "country": "United States", "name": "Twilio"},
    {"id": 3, "country": "United States", "name": "Telnyx"},
    {"id": 4, "country": "United Kingdom", "name": "Gamma"},
    {"id": 5, "country": "Germany", "name": "Deutsche Telekom"},
    {"id": 6, "country": "Australia", "name": "Telstra"},
)


def create(call: ApiCall) -> Answer:
    """Check the body against Yeastar's tables and store it under a new id."""
    body = call.json_object()
    if body is None:
        return answer(PARAMETER_SYNTAX_ERROR)
    problems = trunk_body_problems(body)
    if problems:
        return param_error(problems)
    pbx = call.pbx
    refusal = _name_taken(pbx, body["name"], own_id=None) or _quota_reached(pbx)
    if refusal is not None:
        return refusal
    trunk_id = pbx.trunks.add(body, created=True)
    pbx.counters.creates += 1
    return success(id=trunk_id)


def update(call: ApiCall) -> Answer:
    """Merge the given fields into a stored trunk, check the result and store it; `type`,
    `country` and `itsp` are not changed by an edit (40002 not_changeable)."""
    body = call.json_object()
    if body is None:
        return answer(PARAMETER_SYNTAX_ERROR)
    trunk_id = body.get("id")
    if not isinstance(trunk_id, int) or isinstance(trunk_id, bool):
        raise ParamError("id", "" if trunk_id is None else str(trunk_id), "int_type")
    stored = _existing(call.pbx, trunk_id)
    stored.pop("id")
    changes = {key: value for key, value in body.items() if key != "id"}
    problems = update_problems(stored, changes)
    if problems:
        return param_error(problems)
    merged = {**stored, **changes}
    refusal = _name_taken(call.pbx, merged["name"], own_id=trunk_id)
    if refusal is not None:
        return refusal
    call.pbx.trunks.replace(trunk_id, merged)
    call.pbx.counters.updates += 1
    return success()


def list_trunks(call: ApiCall) -> Answer:
    """One page of every trunk's row, sorted by sort_by (id, name, type) and order_by."""
    sort_by = call.choice_param("sort_by", SORT_FIELDS, "id")
    order_by = call.choice_param("order_by", ("asc", "desc"), "asc")
    rows = call.pbx.trunks.rows(sort_by, descending=order_by == "desc")
    return _page(call, rows, LIST_PAGE_SIZE)


def search(call: ApiCall) -> Answer:
    """One page of the rows whose name or type contains search_value, ignoring case."""
    rows = call.pbx.trunks.search(call.str_param("search_value"))
    return _page(call, rows, SEARCH_PAGE_SIZE)


def get(call: ApiCall) -> Answer:
    """A stored trunk in full (`data` an object, as Yeastar's example shows), password in clear."""
    trunk_id = call.int_param("id")
    _existing(call.pbx, trunk_id)
    return success(data=call.pbx.trunks.detail(trunk_id))


def query(call: ApiCall) -> Answer:
    """The trunks of `ids` ("8,12") in full, in that order; ids of no trunk are left out."""
    text = call.str_param("ids")
    parts = text.split(",")
    if not all(part.isascii() and part.isdecimal() for part in parts):
        raise ParamError("ids", text, "int_list")
    details = (call.pbx.trunks.detail(trunk_id) for trunk_id in dict.fromkeys(map(int, parts)))
    return success(data=[detail for detail in details if detail is not None])


def delete(call: ApiCall) -> Answer:
    """Remove a stored trunk, unless an outbound route uses it (70091)."""
    trunk_id = call.int_param("id")
    trunk = _existing(call.pbx, trunk_id)
    if trunk["name"] in call.pbx.trunks_in_use:
        return answer(CONNECTION_RELATION_EXISTED)
    call.pbx.trunks.delete(trunk_id)
    call.pbx.counters.deletes += 1
    return success()


def itsp_list(_call: ApiCall) -> Answer:
    """The ITSP templates: the valid country and itsp values."""
    return success(data=[dict(template) for template in ITSP_TEMPLATES])


def _page(call: ApiCall, rows: list[dict[str, Any]], default_size: int) -> Answer:
    page = call.int_param("page", default=1)
    page_size = min(call.int_param("page_size", default=default_size), MAX_PAGE_SIZE)
    start = (page - 1) * page_size
    return success(total_number=len(rows), data=rows[start : start + page_size])


def _existing(pbx: Pbx, trunk_id: int) -> dict[str, Any]:
    trunk = pbx.trunks.get(trunk_id)
    if trunk is None:
        raise ParamError("id", str(trunk_id), NOT_EXIST)
    return trunk


def _name_taken(pbx: Pbx, name: str, own_id: int | None) -> Answer | None:
    holder = pbx.trunks.id_of_name(name)
    if holder is None or holder == own_id:
        return None
    pbx.counters.duplicates += 1
    return answer(DUPLICATE_KEY_VALUE, duplicate_field_list=[{"field": "name", "value": name}])


def _quota_reached(pbx: Pbx) -> Answer | None:
    if pbx.trunk_quota is None or len(pbx.trunks) < pbx.trunk_quota:
        return None
    pbx.counters.quota_hits += 1
    return answer(MAX_LIMITATION_EXCEEDED)
