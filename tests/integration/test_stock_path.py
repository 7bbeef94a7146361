"""The stock path (TRUNKCTL_STOCK_CELERY=1): kombu's own Redis transport, Celery's threads pool,
redis-py's own connections and Celery's send_task, on a subset of the end-to-end tests.

The tests are those of the modules they come from; the `rollout` fixture below puts them on the
stock path, producer and workers alike. Left out: the cold shutdown's test (Celery's threads pool
cannot cancel a task in progress: on the stock path its task comes back after the visibility
timeout instead).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e import STOCK, Rollout
from tests.integration.test_delivery_e2e import (  # noqa: F401 - collected here, on the stock path
    fleet50,
    sim3,
    test_faults_end_succeeded_without_duplicates,
    test_fleet_of_50_pbxs_with_4_workers,
    test_worker_killed_mid_batch_loses_nothing,
    test_wrong_secret_fails_one_pbx_after_one_login,
)
from tests.integration.test_jobs_e2e import (  # noqa: F401
    sim,
    test_submit_fail_report_retry_succeed_resubmit,
)

pytestmark = pytest.mark.e2e


@pytest.fixture
def rollout(redis_url: str, tmp_path: Path) -> Iterator[Rollout]:
    """A Rollout whose workers and submits run on the stock path."""
    subject = Rollout(redis_url, tmp_path, settings={STOCK: "1"})
    yield subject
    subject.stop()


def test_the_stock_path_is_on(rollout: Rollout) -> None:
    (worker,) = rollout.start_workers(1)
    banner = worker.output()
    assert "transport:   redis://" in banner
    assert "concurrency: 32 (thread)" in banner
