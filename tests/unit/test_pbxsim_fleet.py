"""Fleet setup, settings checks and the CLI's ready line, without a server."""

from __future__ import annotations

import pytest
from aiohttp import web

from pbxsim.errors import SimInputError, UnknownPbxError
from pbxsim.fleet import Fleet
from pbxsim.server import RunningServer, ready_line
from pbxsim.settings import SimSettings, pbx_alias
from tests.sim_fixtures import peer_body


def test_aliases_and_inventory_rows() -> None:
    fleet = Fleet(SimSettings(pbx_count=12, max_inflight=2, seed=1))
    assert list(fleet.pbxs)[:2] == ["pbx-001", "pbx-002"]
    assert pbx_alias(1000) == "pbx-1000"
    rows = fleet.inventory_rows("http://h:1")
    assert rows[11] == {
        "pbx": "pbx-012",
        "base_url": "http://h:1/pbx-012",
        "client_id": fleet.pbx("pbx-012").client_id,
        "client_secret": fleet.pbx("pbx-012").client_secret,
        "max_inflight": 2,
    }
    assert len({row["client_secret"] for row in rows}) == 12


def test_seeds_repeat_credentials_and_latency() -> None:
    settings = SimSettings(pbx_count=2, seed=4, latency_range_ms=(10.0, 20.0))
    first, second = Fleet(settings), Fleet(settings)
    assert first.inventory_rows("u") == second.inventory_rows("u")
    draws = [first.latency_s() for _ in range(20)]
    assert draws == [second.latency_s() for _ in range(20)]
    assert all(0.010 <= draw <= 0.020 for draw in draws)
    assert Fleet(SimSettings(latency_ms=25)).latency_s() == 0.025


@pytest.mark.parametrize(
    "options",
    [{"pbx_count": 0}, {"max_inflight": 0}, {"latency_ms": -1}, {"latency_range_ms": (5.0, 1.0)}],
)
def test_settings_refuse_nonsense(options: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="must"):
        SimSettings(**options)  # type: ignore[arg-type]


def test_reset_restores_secret_limits_and_preset() -> None:
    fleet = Fleet(SimSettings(faults="flaky"))
    original = fleet.pbx("pbx-001").client_secret
    fleet.set_secret("pbx-001", "changed")
    fleet.configure("pbx-001", max_inflight=5, trunk_quota=3)
    fleet.set_fault_rules([])
    fleet.preload("pbx-001", [peer_body("a")])
    fleet.reset("pbx-001")
    pbx = fleet.pbx("pbx-001")
    assert (pbx.client_secret, pbx.max_inflight, pbx.trunk_quota) == (original, 1, None)
    assert len(pbx.faults.rules) == 3
    assert fleet.pbx("pbx-002").faults.rules == ()
    assert len(pbx.trunks) == 0


def test_preload_is_all_or_nothing() -> None:
    fleet = Fleet(SimSettings())
    with pytest.raises(SimInputError, match="already exists"):
        fleet.preload("pbx-001", [peer_body("a"), peer_body("a")])
    with pytest.raises(SimInputError, match="invalid per the schema: port"):
        fleet.preload("pbx-001", [peer_body("b"), peer_body("c", port="x")])
    assert len(fleet.pbx("pbx-001").trunks) == 0
    assert fleet.preload("pbx-001", [{"name": "raw"}], validate=False) == [1]


def test_unknown_pbx_and_bad_settings() -> None:
    fleet = Fleet(SimSettings())
    with pytest.raises(UnknownPbxError, match="pbx-404"):
        fleet.state("pbx-404")
    with pytest.raises(SimInputError):
        fleet.set_secret("pbx-001", "")
    fleet.configure("pbx-001", trunk_quota=2)
    fleet.configure("pbx-001", trunk_quota=0)
    assert fleet.pbx("pbx-001").trunk_quota is None


def test_state_never_shows_the_client_secret() -> None:
    fleet = Fleet(SimSettings())
    secret = fleet.pbx("pbx-002").client_secret
    assert secret not in repr(fleet.state())
    assert secret not in repr(fleet.pbx("pbx-002"))


@pytest.mark.parametrize(
    ("count", "host", "expected"),
    [
        (1, "127.0.0.1", "pbxsim: serving 1 PBX at http://127.0.0.1:9/pbx-001 "),
        # Only a URL is formatted here: nothing binds.
        (100, "0.0.0.0", "pbxsim: serving 100 PBXs at http://127.0.0.1:9/pbx-001 .. /pbx-100 "),  # noqa: S104
        (2, "::1", "pbxsim: serving 2 PBXs at http://[::1]:9/pbx-001 .. /pbx-002 "),
    ],
)
def test_ready_line(count: int, host: str, expected: str) -> None:
    fleet = Fleet(SimSettings(pbx_count=count))
    server = RunningServer(fleet, web.AppRunner(web.Application()), host, 9)
    line = ready_line(server)
    assert line.startswith(expected)
    assert line.endswith(f"(inspect: {server.root_url}/_sim/state)")
