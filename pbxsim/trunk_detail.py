"""A stored trunk as `trunk/get` and `trunk/query` answer it: every field of its type's Trunk_Info
table in the table's order, the PBX's default for what the create did not set, the password in
clear, and an `id` on each outbound caller ID item (Yeastar's example shows `"id": 11` there)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pbxsim.validation import trunk_body_problems

_HEAD = ("id", "name", "enable", "country", "itsp", "type", "transport")
_HOST = ("hostname", "port", "domain")
_CALLER_IDS = ("codec_sel", "def_outbound_cid", "def_outbound_cid_name", "outbound_cid_list")
DETAIL_FIELDS: dict[str, tuple[str, ...]] = {
    "register": (
        *_HEAD, *_HOST, "username", "password", "auth_name", "enb_outbound_proxy",
        "outbound_proxy_server", "outbound_proxy_port", *_CALLER_IDS, "did_list",
    ),
    "peer": (*_HEAD, *_HOST, *_CALLER_IDS, "did_list"),
    "account": (*_HEAD, "number", "password", "auth_name", *_CALLER_IDS),
}  # fmt: skip
# What the PBX holds for a field the create left out (the doc's example shows these values).
DEFAULTS: dict[str, Any] = {
    "enable": 1,
    "itsp": "",
    "enb_outbound_proxy": 0,
    "outbound_proxy_server": "",
    "outbound_proxy_port": 0,
    "def_outbound_cid": "",
    "def_outbound_cid_name": "",
}
_CALLER_ID_FIELDS = ("outbound_cid_option", "outbound_cid", "outbound_cid_name")
_EXTENSION_DEFAULTS = {"type": "extension", "ext_number": "", "ext_name": ""}


def trunk_detail(trunk: dict[str, Any], caller_id_ids: Sequence[int]) -> dict[str, Any]:
    """The detail of a stored trunk (a copy); `caller_id_ids` number its outbound_cid_list."""
    body = {name: value for name, value in trunk.items() if name != "id"}
    if trunk_body_problems(body):
        # Stored unchecked through the inspection API: shown as it was given.
        return dict(trunk)
    detail: dict[str, Any] = {}
    for name in DETAIL_FIELDS[body["type"]]:
        if name == "outbound_cid_list":
            pairs = zip(trunk.get(name, []), caller_id_ids, strict=False)
            detail[name] = [_caller_id(item, item_id) for item, item_id in pairs]
        elif name == "did_list":
            detail[name] = [{"did": "", "did_name": "", **item} for item in trunk.get(name, [])]
        elif name in trunk or name in DEFAULTS:
            detail[name] = trunk.get(name, DEFAULTS.get(name))
    return detail


def _caller_id(item: dict[str, Any], item_id: int) -> dict[str, Any]:
    shown: dict[str, Any] = {"id": item_id}
    shown.update((name, item.get(name, "")) for name in _CALLER_ID_FIELDS)
    if item.get("outbound_cid_option") == "range":
        shown["outbound_cid_to_ext_range"] = item.get("outbound_cid_to_ext_range", "")
    else:
        shown["ext_list"] = [{**_EXTENSION_DEFAULTS, **ext} for ext in item.get("ext_list", [])]
    return shown
