"""Exponential backoff with full jitter (pure: the random source is a parameter)."""

from __future__ import annotations

import random
from collections.abc import Callable

MAX_EXPONENT = 64


def backoff_s(
    tries: int, *, base_s: float, cap_s: float, rand: Callable[[], float] = random.random
) -> float:
    """Seconds to wait before try `tries` + 1: uniform in [0, min(cap, base * 2^(tries-1))]; full
    jitter spreads the retries of trunks failing on one flaky PBX."""
    # The exponent stops growing long after the cap is reached: 2.0 ** 1024 is no float.
    ceiling = min(cap_s, base_s * 2.0 ** min(max(0, tries - 1), MAX_EXPONENT))
    return float(rand() * ceiling)


def defer_s(
    comeback_in_s: float, *, cap_s: float, rand: Callable[[], float] = random.random
) -> float:
    """Seconds a task steps aside for when its PBX is saturated: when the limiter wants it back,
    up to 10% early (never late: a late task leaves the PBX idle), at least 50 ms, capped."""
    return float(min(cap_s, max(0.05, comeback_in_s * (0.9 + 0.1 * rand()))))


def wait_out_s(*, cap_s: float, rand: Callable[[], float] = random.random) -> float:
    """Seconds before a look again at a state that lasts (a PBX with all its tokens out): from
    half the backoff's cap to the cap, so that the items waiting on it spread out."""
    return float(cap_s * (0.5 + 0.5 * rand()))
