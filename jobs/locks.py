"""Redis locks owned by a token: released only by their owner, expiring if it dies."""

from __future__ import annotations

import itertools
import os
import uuid

from core.lua import lua

# KEYS: the lock. ARGV: the owner's token. Deletes the lock only if this owner still holds it
# (it may have expired and been taken by someone else meanwhile).
UNLOCK_LUA = lua(__file__, "unlock")

_prefix = uuid.uuid4().hex
_counter = itertools.count()


def _new_prefix() -> None:
    global _prefix  # noqa: PLW0603 - one prefix per process
    _prefix = uuid.uuid4().hex


# A forked child (Celery's prefork pool) must not share its parent's tokens.
os.register_at_fork(after_in_child=_new_prefix)


def owner_token() -> str:
    """A token no other lock owner or slot lease has, anywhere: a random prefix per process and a
    counter (not uuid4: its system call on the event loop hands the GIL to Celery's threads)."""
    return f"{_prefix}-{next(_counter)}"
