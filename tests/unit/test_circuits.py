"""OpenedCircuits: which tasks a circuit this process opened stops before their request leaves."""

from __future__ import annotations

import pytest

from worker.circuits import OpenedCircuits
from worker.pbx.errors import CircuitOpenError, PbxAuthError

REASON = {"errcode": 10009, "errmsg": "OPERATION FAILED"}


def test_only_items_claimed_before_the_circuit_opened_are_stopped() -> None:
    now = [100.0]
    circuits = OpenedCircuits(lambda: now[0])
    circuits.check("job-a", "hq", claimed_at=99.0)  # nothing opened yet
    circuits.record("job-a", "hq", REASON)
    with pytest.raises(CircuitOpenError) as info:
        circuits.check("job-a", "hq", claimed_at=99.0)
    assert isinstance(info.value, PbxAuthError)
    assert (info.value.errcode, info.value.errmsg) == (10009, "OPERATION FAILED")
    # Claimed later: the claim saw the circuit in Redis, or `retry` closed it since.
    circuits.check("job-a", "hq", claimed_at=100.5)
    circuits.check("job-b", "hq", claimed_at=99.0)  # another job's run of the PBX
    circuits.check("job-a", "branch", claimed_at=99.0)  # another PBX
