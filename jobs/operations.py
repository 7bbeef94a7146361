"""What an item asks of its PBX (its operation) and what a job is for (its kind).

Glossary:
- operation (item field `op`): `create` (a rollout's trunk/create, the default), `upsert`
  (`--update-existing`: create, or update the fields that differ), `read` (a plan's look at the
  trunk), `apply` (a reviewed plan's row: create, update or check it as planned), `delete` and
  `restore` (a rollback: delete a trunk a job created, give fields a job updated their old values).
- kind (job field `kind`): `rollout` (`submit`, `trunkctl run`), `plan`, `apply` (of a plan),
  `rollback` (of a job); `source` names the plan or job an apply or rollback comes from.
"""

from __future__ import annotations

from enum import StrEnum


class Op(StrEnum):
    """What one item asks of its PBX."""

    CREATE = "create"
    UPSERT = "upsert"
    READ = "read"
    APPLY = "apply"
    DELETE = "delete"
    RESTORE = "restore"


class JobKind(StrEnum):
    """What a job is for."""

    ROLLOUT = "rollout"
    PLAN = "plan"
    APPLY = "apply"
    ROLLBACK = "rollback"


class PlanAction(StrEnum):
    """What a plan says for one row."""

    CREATE = "create"
    SAME = "same"
    UPDATE = "update"
    CONFLICT = "conflict"
    UNREADABLE = "unreadable"


PLAN_ACTIONS = tuple(PlanAction)
# Item hash fields of the operations beside `create` (never in a report: they may hold
# passwords, as the request body does).
OP_FIELD = "op"
OP_DATA_FIELD = "op_data"  # JSON set when the item is stored: what its operation needs
OLD_VALUES_FIELD = "old_values"  # JSON: the values an update replaced (what a rollback restores)
SEEN_FIELD = "seen"  # JSON: what a plan's read found for the row's fields (what apply checks)
WRITE_SENT_FIELD = "write_sent"  # "1": an update or delete of the item may have reached the PBX
SECRET_ITEM_FIELDS = frozenset({OP_DATA_FIELD, OLD_VALUES_FIELD, SEEN_FIELD})
