"""The limiter's stepping-aside policy as arithmetic: counts and times in, decisions out."""

from __future__ import annotations

import itertools

import pytest

from worker.pbx.step_aside import (
    ENOUGH_WAITERS_PER_SLOT,
    ROOM_FOR_NEW_SHARE,
    StepAsidePolicy,
    comeback_at,
)

ENOUGH = ENOUGH_WAITERS_PER_SLOT
PER_REQUEST_S = 0.2


def _policy(*, waiting: int = 0, max_waiting: int = 100, new_share: float = 0.0) -> StepAsidePolicy:
    return StepAsidePolicy(max_waiting=max_waiting, waiting=waiting, new_share=new_share)


@pytest.mark.parametrize("limit", [1, 2, 5])
def test_a_task_never_steps_aside_while_too_few_are_queued_to_keep_its_pbx_busy(limit: int) -> None:
    short_of_room = _policy(waiting=100, max_waiting=1, new_share=1.0)
    queued = ENOUGH * limit - 1
    assert not short_of_room.should_step_aside(queued, limit, PER_REQUEST_S, wait_s=0.01)


def test_a_task_steps_aside_when_its_wait_would_outlast_its_patience() -> None:
    queued = ENOUGH * 10  # 40 ahead x 0.2 s = 8 s of waiting
    assert _policy().should_step_aside(queued, 1, PER_REQUEST_S, wait_s=7.9)
    assert not _policy().should_step_aside(queued, 1, PER_REQUEST_S, wait_s=8.1)


def test_a_full_process_makes_room_only_while_other_pbxs_tasks_seem_to_wait() -> None:
    queued = ENOUGH  # enough to keep the PBX busy, a short wait
    full = _policy(waiting=10, max_waiting=10)
    assert not full.should_step_aside(queued, 1, PER_REQUEST_S, wait_s=60)  # no sign of others
    full.arrived(new_device=True)  # a task for a PBX not at work here: others are in the broker
    assert full.new_share > ROOM_FOR_NEW_SHARE
    assert full.should_step_aside(queued, 1, PER_REQUEST_S, wait_s=60)
    roomy = _policy(waiting=9, max_waiting=10, new_share=1.0)
    assert not roomy.should_step_aside(queued, 1, PER_REQUEST_S, wait_s=60)


def test_one_new_arrival_lifts_the_share_and_a_run_of_busy_pbxs_arrivals_lets_it_fall() -> None:
    policy = _policy()
    policy.arrived(new_device=True)
    assert policy.new_share > ROOM_FOR_NEW_SHARE
    for _ in range(20):
        policy.arrived(new_device=False)
    assert policy.new_share < ROOM_FOR_NEW_SHARE


def test_the_first_task_to_step_aside_comes_back_when_half_of_enough_is_left() -> None:
    half = ENOUGH / 2
    due = comeback_at(now=100.0, ahead=ENOUGH, limit=1, per_request_s=PER_REQUEST_S, previous_due=0)
    assert due == pytest.approx(100.0 + half * PER_REQUEST_S)
    # With a long queue: once it is down to half of enough.
    due = comeback_at(now=100.0, ahead=20, limit=1, per_request_s=PER_REQUEST_S, previous_due=0)
    assert due == pytest.approx(100.0 + (20 - half) * PER_REQUEST_S)


def test_tasks_that_step_aside_one_after_another_come_back_a_request_apart() -> None:
    due = 0.0
    dues = []
    for _ in range(3):
        due = comeback_at(
            now=100.0, ahead=ENOUGH, limit=1, per_request_s=PER_REQUEST_S, previous_due=due
        )
        dues.append(due)
    assert [later - earlier for earlier, later in itertools.pairwise(dues)] == (
        pytest.approx([PER_REQUEST_S, PER_REQUEST_S])
    )


def test_more_slots_mean_more_waiters_make_enough() -> None:
    queued = ENOUGH * 2 - 1
    assert _policy().should_step_aside(queued, 1, PER_REQUEST_S, wait_s=0.1)
    assert not _policy().should_step_aside(queued, 2, PER_REQUEST_S, wait_s=0.1)


def test_returns_beyond_the_horizon_line_up_at_the_horizon_leaving_no_holes() -> None:
    # 300 tasks step aside at once for one PBX, while tasks are put off 30 s at most. Chained
    # past the horizon, the later ones would be due at 30-60 s, yet all come back at 30 s (the
    # most they can be put off) and step aside again, behind dues that no task fills.
    due = 0.0
    dues = []
    for _ in range(300):
        due = comeback_at(
            now=0.0, ahead=ENOUGH, limit=1, per_request_s=PER_REQUEST_S, previous_due=due,
            horizon_s=30.0,
        )  # fmt: skip
        dues.append(due)
    assert max(dues) == 30.0
    assert dues[:100] == pytest.approx([0.4 + n * PER_REQUEST_S for n in range(100)])
    # One that comes back early and steps aside again is due by its own place in line, not
    # behind dues of 30-60 s that no task will fill.
    again = comeback_at(30.0, ENOUGH, 1, PER_REQUEST_S, due, horizon_s=30.0)
    assert again == pytest.approx(30.0 + ENOUGH / 2 * PER_REQUEST_S)
