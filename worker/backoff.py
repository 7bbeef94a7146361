"""Exponential backoff with full jitter (pure: the random source is a parameter)."""

from __future__ import annotations

import random
from collections.abc import Callable


def backoff_s(
    tries: int, *, base_s: float, cap_s: float, rand: Callable[[], float] = random.random
) -> float:
    """Seconds to wait before try number `tries` + 1: uniform in [0, min(cap, base * 2^(tries-1))].

    Full jitter spreads the retries of trunks failing on one flaky PBX instead of re-aligning them.
    """
    ceiling = min(cap_s, base_s * 2 ** max(0, tries - 1))
    return float(rand() * ceiling)


def defer_s(backlog_s: float, *, cap_s: float, rand: Callable[[], float] = random.random) -> float:
    """Seconds a task steps aside for when its PBX is saturated: up to its backlog, jittered.

    Erring short is cheap (the task waits in the worker if the PBX is still busy); erring long
    leaves the PBX idle at the end of a rollout.
    """
    return float(min(cap_s, max(0.1, backlog_s) * (0.5 + rand() / 2)))
