"""What a trunk on a PBX holds against what a row asks for: the rules of docs/desired-state.md.

Pure logic. Only the fields the row sets are compared (an empty cell is "not sent", so it asks
for nothing). Values are compared as the PBX means them, not as text:
- integers as integers (`"5060"` and `5060` are one port);
- `codec_sel` as an ordered list (the order is the codec preference), spaces ignored;
- `did_list` as a set of (did, did_name) pairs, an absent did_name equal to "": the DIDs that reach
  the trunk, in no order;
- `outbound_cid_list` as an ordered list of caller IDs, ignoring the `id` the PBX gives each item,
  an absent outbound_cid_name equal to "", and each `ext_list` as a set of (type, id) extensions
  (type "extension" when absent; ext_number and ext_name only describe the extension the id names);
- a field the PBX's answer leaves out holds the PBX's default (Yeastar's `trunk/get` example).
`type`, `country` and `itsp` are set once, by the create: `trunk/update` cannot change them, so a
difference there is a conflict, not an update.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

# Never shown: a change of a secret is shown as this on both sides.
MASK = "***"
SECRET_FIELDS = frozenset({"password"})
KEY_FIELD = "name"  # how a row finds its trunk: never an update
FIXED_FIELDS = ("type", "country", "itsp")
INTEGER_FIELDS = frozenset({"port", "enable", "enb_outbound_proxy", "outbound_proxy_port"})
LIST_FIELDS = frozenset({"did_list", "outbound_cid_list"})
# What a PBX holds for a field the create left out (Yeastar's trunk/get example).
PBX_DEFAULTS: dict[str, Any] = {"enable": 1, "enb_outbound_proxy": 0, "outbound_proxy_port": 0}
Change = tuple[Any, Any]  # (the PBX's value, the row's value)


def pbx_detail(data: Any) -> dict[str, Any] | None:
    """A trunk's detail from `trunk/get`'s `data`: an object (Yeastar's example), or an array of
    one (its table says `Array <Trunk_Info>`); None when it holds no trunk."""
    if isinstance(data, list):
        data = data[0] if len(data) == 1 else None
    return data if isinstance(data, dict) and data else None


def normalized(field: str, value: Any) -> Any:
    """A field's value in the form it is compared in (see the module's doc)."""
    if value is None:
        value = PBX_DEFAULTS.get(field, [] if field in LIST_FIELDS else "")
    if field in INTEGER_FIELDS:
        return _integer(value)
    if field == "codec_sel":
        return _codecs(value)
    if field == "did_list":
        return _dids(value)
    if field == "outbound_cid_list":
        return _caller_ids(value)
    return value


def _integer(value: Any) -> Any:
    if isinstance(value, str) and value.strip().lstrip("-").isdecimal():
        return int(value)
    return value


def _codecs(value: Any) -> Any:
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list):
        return value
    return tuple(str(codec).strip() for codec in items if str(codec).strip())


def _text(item: Mapping[str, Any], key: str, default: str = "") -> str:
    value = item.get(key)
    return default if value is None else str(value)


def _dids(value: Any) -> Any:
    if not isinstance(value, list):
        return value
    pairs = (
        (_text(item, "did").strip(), _text(item, "did_name"))
        if isinstance(item, Mapping)
        else (repr(item), "")
        for item in value
    )
    return frozenset(pairs)


def _caller_ids(value: Any) -> Any:
    if not isinstance(value, list):
        return value
    return tuple(_caller_id(item) if isinstance(item, Mapping) else repr(item) for item in value)


def _caller_id(item: Mapping[str, Any]) -> tuple[Any, ...]:
    extensions = item.get("ext_list") or []
    return (
        _text(item, "outbound_cid_option"),
        _text(item, "outbound_cid"),
        _text(item, "outbound_cid_name"),
        _text(item, "outbound_cid_to_ext_range"),
        frozenset(
            (_text(ext, "type", "extension"), _integer(ext.get("id")))
            if isinstance(ext, Mapping)
            else (repr(ext), None)
            for ext in (extensions if isinstance(extensions, list) else [extensions])
        ),
    )


def same_value(field: str, left: Any, right: Any) -> bool:
    """Whether two values of a field mean the same to the PBX."""
    return bool(normalized(field, left) == normalized(field, right))


def conflicts(row: Mapping[str, Any], current: Mapping[str, Any]) -> list[str]:
    """The fields set at create time (type, country, itsp) that the row sets otherwise than the
    PBX holds: trunk/update cannot change them."""
    return [
        field
        for field in FIXED_FIELDS
        if field in row and not same_value(field, current.get(field), row[field])
    ]


def compared_fields(row: Mapping[str, Any]) -> list[str]:
    """The fields of a row that an update may change: all it sets but its name and fixed ones."""
    return [field for field in row if field != KEY_FIELD and field not in FIXED_FIELDS]


def changes(row: Mapping[str, Any], current: Mapping[str, Any]) -> dict[str, Change]:
    """The fields the row sets that the PBX holds otherwise: field -> (PBX's value, row's)."""
    return {
        field: (current.get(field), row[field])
        for field in compared_fields(row)
        if not same_value(field, current.get(field), row[field])
    }


def drifted(fields: Iterable[str], before: Mapping[str, Any], now: Mapping[str, Any]) -> list[str]:
    """The fields whose value changed between two reads of a trunk."""
    return [field for field in fields if not same_value(field, before.get(field), now.get(field))]


def values_of(fields: Iterable[str], current: Mapping[str, Any]) -> dict[str, Any]:
    """The PBX's values of these fields (its defaults where its answer leaves one out)."""
    return {field: _shown_default(field, current.get(field)) for field in fields}


def _shown_default(field: str, value: Any) -> Any:
    if value is not None:
        return value
    return PBX_DEFAULTS.get(field, [] if field in LIST_FIELDS else "")


def masked(found: Mapping[str, Change]) -> dict[str, dict[str, Any]]:
    """Changes as people and reports see them: {field: {"old", "new"}}, secrets as ***."""
    return {
        field: (
            {"old": MASK, "new": MASK}
            if field in SECRET_FIELDS
            else {"old": _shown_default(field, old), "new": new}
        )
        for field, (old, new) in found.items()
    }
