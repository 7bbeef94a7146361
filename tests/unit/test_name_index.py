"""The duplicate-name index: same answers in memory and after spilling to SQLite."""

from __future__ import annotations

import pytest

from producer.name_index import NameIndex


@pytest.mark.parametrize(
    "memory_limit", [1, 3, 1000], ids=["spills-at-once", "spills-late", "memory"]
)
def test_first_occurrence_is_reported_before_and_after_spilling(memory_limit: int) -> None:
    with NameIndex(memory_limit=memory_limit) as index:
        for line in range(2, 8):
            assert index.first_seen("pbx-a", f"trunk-{line}", 0, line) is None
        assert index.first_seen("pbx-b", "trunk-2", 1, 2) is None  # other PBX: fine
        assert index.first_seen("pbx-a", "trunk-2", 1, 9) == (0, 2)
        assert index.first_seen("pbx-a", "trunk-7", 1, 10) == (0, 7)
        assert index.first_seen("pbx-b", "trunk-2", 0, 11) == (1, 2)
        # The same file given twice: its rows come again with the same lines, and are repeats.
        assert index.first_seen("pbx-a", "trunk-3", 2, 3) == (0, 3)
