"""Token and login bookkeeping without I/O, on a manual clock."""

from __future__ import annotations

from pbxsim.logins import LoginGuard
from pbxsim.testing import ManualClock
from pbxsim.tokens import TokenStore


def _store(clock: ManualClock, max_active: int = 8) -> TokenStore:
    return TokenStore(clock, access_ttl_s=10.0, refresh_ttl_s=100.0, max_active=max_active)


def test_issue_up_to_the_cap() -> None:
    store = _store(ManualClock(), max_active=2)
    first, second = store.issue(), store.issue()
    assert first is not None
    assert second is not None
    assert store.issue() is None
    assert store.active_count() == 2
    assert store.revoke(first.access_token)
    assert not store.revoke(first.access_token)
    assert store.issue() is not None


def test_access_tokens_expire_at_their_ttl() -> None:
    clock = ManualClock()
    store = _store(clock)
    grant = store.issue()
    assert grant is not None
    clock.advance(9.999)
    assert store.is_valid(grant.access_token)
    clock.advance(0.001)
    assert not store.is_valid(grant.access_token)
    assert store.active_count() == 0
    # The refresh token outlives it.
    assert store.refresh(grant.refresh_token) is not None


def test_refresh_retires_both_old_tokens() -> None:
    store = _store(ManualClock())
    old = store.issue()
    assert old is not None
    new = store.refresh(old.refresh_token)
    assert new is not None
    assert not store.is_valid(old.access_token)
    assert store.is_valid(new.access_token)
    assert store.refresh(old.refresh_token) is None
    assert store.active_count() == 1


def test_refresh_tokens_expire() -> None:
    clock = ManualClock()
    store = _store(clock)
    grant = store.issue()
    assert grant is not None
    clock.advance(100)
    assert store.refresh(grant.refresh_token) is None
    assert store.refresh("unknown") is None


def test_clear_forgets_everything() -> None:
    store = _store(ManualClock())
    grant = store.issue()
    assert grant is not None
    store.clear()
    assert not store.is_valid(grant.access_token)
    assert store.refresh(grant.refresh_token) is None


def test_guard_blocks_after_consecutive_failures_per_ip() -> None:
    guard = LoginGuard(max_failures=3)
    for _ in range(2):
        guard.record_failure("10.0.0.1")
    guard.record_success("10.0.0.1")
    for _ in range(2):
        guard.record_failure("10.0.0.1")
    assert not guard.is_blocked("10.0.0.1")
    guard.record_failure("10.0.0.1")
    guard.record_failure("10.0.0.2")
    assert guard.blocked_ips() == ["10.0.0.1"]
    guard.unblock("10.0.0.1")
    assert not guard.is_blocked("10.0.0.1")
    guard.record_failure("10.0.0.1")
    assert not guard.is_blocked("10.0.0.1")


def test_guard_unblock_all() -> None:
    guard = LoginGuard(max_failures=1)
    guard.record_failure("a")
    guard.record_failure("b")
    guard.unblock()
    assert guard.blocked_ips() == []
