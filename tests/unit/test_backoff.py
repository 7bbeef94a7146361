"""Backoff arithmetic: full-jitter bounds, growth, cap, the injected random source; deferral."""

from __future__ import annotations

import random

import pytest

from worker.backoff import backoff_s, defer_s, wait_out_s


@pytest.mark.parametrize(
    ("tries", "base_s", "cap_s", "ceiling_s"),
    [
        (0, 1.0, 60.0, 1.0),  # before any try: no negative exponent
        (1, 1.0, 60.0, 1.0),
        (2, 1.0, 60.0, 2.0),
        (3, 1.0, 60.0, 4.0),
        (6, 1.0, 60.0, 32.0),
        (7, 1.0, 60.0, 60.0),  # 64 capped
        (50, 0.5, 30.0, 30.0),  # huge exponents stay at the cap
        (4, 0.25, 100.0, 2.0),
    ],
)
def test_backoff_ceiling_is_base_doubled_per_try_then_capped(
    tries: int, base_s: float, cap_s: float, ceiling_s: float
) -> None:
    assert backoff_s(tries, base_s=base_s, cap_s=cap_s, rand=lambda: 1.0) == pytest.approx(
        ceiling_s
    )
    assert backoff_s(tries, base_s=base_s, cap_s=cap_s, rand=lambda: 0.0) == 0.0
    assert backoff_s(tries, base_s=base_s, cap_s=cap_s, rand=lambda: 0.5) == pytest.approx(
        ceiling_s / 2
    )


def test_backoff_stays_within_bounds_for_real_random_draws() -> None:
    rng = random.Random(7)
    for tries in range(1, 20):
        ceiling_s = min(10.0, 0.1 * 2 ** (tries - 1))
        delays = [backoff_s(tries, base_s=0.1, cap_s=10.0, rand=rng.random) for _ in range(200)]
        assert all(0.0 <= delay <= ceiling_s for delay in delays)
        # Full jitter: the draws spread over the range instead of clustering at the ceiling.
        assert min(delays) < ceiling_s * 0.2
        assert max(delays) > ceiling_s * 0.8


def test_backoff_grows_until_the_cap() -> None:
    delays = [backoff_s(tries, base_s=1.0, cap_s=20.0, rand=lambda: 1.0) for tries in range(1, 9)]
    assert delays == [1.0, 2.0, 4.0, 8.0, 16.0, 20.0, 20.0, 20.0]


def test_backoff_returns_a_float_and_uses_the_given_random_source() -> None:
    draws: list[float] = []

    def rand() -> float:
        draws.append(0.25)
        return 0.25

    delay = backoff_s(3, base_s=2, cap_s=100, rand=rand)
    assert isinstance(delay, float)
    assert delay == 2.0
    assert draws == [0.25]


@pytest.mark.parametrize(
    ("backlog_s", "cap_s", "rand_value", "expected_s"),
    [
        (10.0, 60.0, 0.0, 9.0),  # up to 10% early
        (10.0, 60.0, 1.0, 10.0),  # never late
        (10.0, 2.0, 1.0, 2.0),  # capped
        (0.0, 60.0, 1.0, 0.05),  # never zero
        (-5.0, 60.0, 0.5, 0.05),
    ],
)
def test_defer_is_when_wanted_back_up_to_10_percent_early_capped(
    backlog_s: float, cap_s: float, rand_value: float, expected_s: float
) -> None:
    assert defer_s(backlog_s, cap_s=cap_s, rand=lambda: rand_value) == pytest.approx(expected_s)


def test_defer_stays_within_bounds_for_real_random_draws() -> None:
    rng = random.Random(3)
    for backlog_s in (0.0, 0.05, 1.0, 7.5, 100.0):
        for _ in range(200):
            delay = defer_s(backlog_s, cap_s=30.0, rand=rng.random)
            low_s = min(30.0, max(0.05, backlog_s * 0.9))
            high_s = min(30.0, max(0.05, backlog_s))
            assert delay > 0.0
            assert low_s <= delay <= high_s


def test_a_lasting_state_is_waited_out_between_half_the_cap_and_the_cap() -> None:
    assert wait_out_s(cap_s=20, rand=lambda: 0.0) == 10
    assert wait_out_s(cap_s=20, rand=lambda: 1.0) == 20


def test_a_backoff_after_thousands_of_tries_is_the_cap_not_an_overflow() -> None:
    assert backoff_s(5000, base_s=1.0, cap_s=20.0, rand=lambda: 1.0) == 20.0
