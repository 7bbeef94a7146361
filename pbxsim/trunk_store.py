"""One PBX's trunks: the stored bodies, their ids, and the rows that list and search show."""

from __future__ import annotations

import copy
import itertools
from typing import Any

from pbxsim.trunk_detail import trunk_detail

Trunk = dict[str, Any]
SORT_FIELDS = ("id", "name", "type")


class TrunkStore:
    """Trunks by id; ids increase from 1 and are never reused until a reset."""

    def __init__(self) -> None:
        self._by_id: dict[int, Trunk] = {}
        self._id_by_name: dict[str, int] = {}
        self._next_id = 1
        # Ids of the trunks a trunk/create made (the others were pre-loaded).
        self._created: set[int] = set()
        # The PBX numbers outbound caller ID items too, from its own sequence.
        self._caller_id_ids: dict[int, list[int]] = {}
        self._next_caller_id_id = itertools.count(1)

    def __len__(self) -> int:
        return len(self._by_id)

    def add(self, body: dict[str, Any], created: bool = False) -> int:
        """Store a copy of the body as received, plus its new id; return the id. `created`:
        by a trunk/create (not pre-loaded)."""
        trunk_id = self._next_id
        self._next_id += 1
        if created:
            self._created.add(trunk_id)
        self._store(trunk_id, body)
        return trunk_id

    def replace(self, trunk_id: int, body: dict[str, Any]) -> None:
        """Replace a stored trunk's body, keeping its id."""
        old = self._by_id.pop(trunk_id)
        self._id_by_name.pop(old["name"], None)
        if body.get("outbound_cid_list") != old.get("outbound_cid_list"):
            self._caller_id_ids.pop(trunk_id, None)
        self._store(trunk_id, body)

    def get(self, trunk_id: int) -> Trunk | None:
        """A copy of the stored trunk, or None."""
        trunk = self._by_id.get(trunk_id)
        return None if trunk is None else copy.deepcopy(trunk)

    def detail(self, trunk_id: int) -> Trunk | None:
        """The stored trunk as trunk/get shows it (defaults filled in), or None."""
        trunk = self._by_id.get(trunk_id)
        if trunk is None:
            return None
        return copy.deepcopy(trunk_detail(trunk, self._caller_id_ids.get(trunk_id, [])))

    def delete(self, trunk_id: int) -> bool:
        """Remove a trunk; False when there was none with that id."""
        trunk = self._by_id.pop(trunk_id, None)
        if trunk is None:
            return False
        self._id_by_name.pop(trunk["name"], None)
        self._created.discard(trunk_id)
        self._caller_id_ids.pop(trunk_id, None)
        return True

    def id_of_name(self, name: str) -> int | None:
        """The id of the trunk with exactly this name, or None."""
        return self._id_by_name.get(name)

    def name_of(self, trunk_id: int) -> str | None:
        """The name of the trunk with this id, or None."""
        trunk = self._by_id.get(trunk_id)
        return None if trunk is None else str(trunk["name"])

    def made_by_create(self, name: str) -> bool:
        """Whether a trunk of this name is stored, and a trunk/create made it."""
        return self._id_by_name.get(name) in self._created

    def all(self) -> list[Trunk]:
        """Copies of every trunk, by id."""
        return [copy.deepcopy(trunk) for _, trunk in sorted(self._by_id.items())]

    def rows(self, sort_by: str = "id", descending: bool = False) -> list[dict[str, Any]]:
        """Every trunk's list row, sorted."""
        rows = [list_row(trunk) for trunk in self._by_id.values()]
        return sorted(rows, key=lambda row: (row[sort_by], row["id"]), reverse=descending)

    def search(self, text: str) -> list[dict[str, Any]]:
        """Rows whose name or type contains the text, ignoring case, by id."""
        needle = text.casefold()
        return [
            row
            for row in self.rows()
            if needle in str(row["name"]).casefold() or needle in str(row["type"]).casefold()
        ]

    def clear(self) -> None:
        """Forget every trunk and start ids from 1 again."""
        self._by_id.clear()
        self._id_by_name.clear()
        self._next_id = 1
        self._created.clear()
        self._caller_id_ids.clear()
        self._next_caller_id_id = itertools.count(1)

    def _store(self, trunk_id: int, body: dict[str, Any]) -> None:
        self._by_id[trunk_id] = {**copy.deepcopy(body), "id": trunk_id}
        # Every stored body has a string name: the tables or the pre-load check saw to it.
        self._id_by_name[body["name"]] = trunk_id
        if trunk_id not in self._caller_id_ids:
            items = body.get("outbound_cid_list")
            count = len(items) if isinstance(items, list) else 0
            self._caller_id_ids[trunk_id] = [next(self._next_caller_id_id) for _ in range(count)]


def list_row(trunk: Trunk) -> dict[str, Any]:
    """The summary of a trunk that trunk/list and trunk/search show."""
    trunk_type = trunk.get("type", "")
    has_host = trunk_type in ("register", "peer")
    return {
        "id": trunk["id"],
        "status": _status(trunk),
        "name": trunk.get("name", ""),
        "type": trunk_type,
        "host_port": f"{trunk.get('hostname', '')}:{trunk.get('port', '')}" if has_host else "",
        "def_outbound_cid": trunk.get("def_outbound_cid", ""),
        # An account trunk's SIP user is its `number`; a peer trunk has none.
        "username": trunk.get("username", trunk.get("number", "")),
    }


TRUNK_IDLE, TRUNK_DISABLED = 1, 44


def _status(trunk: Trunk) -> int:
    """The row's status code as Yeastar documents it: 44 disabled, else 1 idle (a simulated
    trunk is never busy, and its registration always succeeds)."""
    return TRUNK_DISABLED if trunk.get("enable") == 0 else TRUNK_IDLE
