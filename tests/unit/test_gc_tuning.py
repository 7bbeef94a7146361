"""The worker's garbage-collector settings, applied when it is ready to consume."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
from celery.signals import worker_ready

from worker.celery_app import GC_YOUNG_THRESHOLD


@pytest.fixture
def gc_restored() -> Iterator[None]:
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


@pytest.mark.usefixtures("gc_restored")
def test_a_ready_worker_freezes_its_start_up_objects_and_collects_young_ones_less_often() -> None:
    _, older, oldest = gc.get_threshold()
    assert gc.get_freeze_count() == 0

    worker_ready.send(sender=None)

    assert gc.get_freeze_count() > 10_000  # the imported libraries, at least
    assert gc.get_threshold() == (GC_YOUNG_THRESHOLD, older, oldest)
