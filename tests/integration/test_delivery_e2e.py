"""End to end: real Redis, real Celery worker processes, the simulator over real HTTP."""

from __future__ import annotations

import re
import signal
import ssl
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from core import keys
from core.settings import Settings
from pbxsim import SimSettings, SimulatorThread
from tests.e2e import Rollout, assert_delivered_once, fleet_rows, register_body, wait_for
from tests.tls_certificates import self_signed
from tests.worker_process import FAST_SETTINGS
from trunks.schema import parse_request_body
from worker.celery_app import make_app

pytestmark = pytest.mark.e2e


@pytest.fixture
def fleet50() -> Any:
    with SimulatorThread(SimSettings(pbx_count=50)) as sim:
        yield sim


@pytest.fixture
def sim3() -> Any:
    with SimulatorThread(SimSettings(pbx_count=3)) as sim:
        yield sim


def secrets_of(sim: SimulatorThread, rows: list[tuple[str, dict[str, Any]]]) -> list[str]:
    """Every client secret and trunk password of a test."""
    client_secrets = [row["client_secret"] for row in sim.inventory_rows()]
    return client_secrets + [body["password"] for _, body in rows if "password" in body]


def assert_no_secret_in(text: str, secrets: list[str]) -> None:
    leaked = [secret for secret in secrets if secret in text]
    assert not leaked, f"{len(leaked)} secrets leaked"
    assert not re.search(r"access_token=(?!\*\*\*)[A-Za-z0-9]", text)


def assert_each_created_once(sim: SimulatorThread, rows: list[tuple[str, dict[str, Any]]]) -> None:
    """Every trunk is on its PBX exactly once, with exactly the body the schema produced."""
    for alias in {alias for alias, _ in rows}:
        stored = sim.trunks(alias)
        names = [trunk["name"] for trunk in stored]
        assert len(names) == len(set(names)), f"duplicates on {alias}"
        wanted = {body["name"]: body for a, body in rows if a == alias}
        assert set(names) == set(wanted)
        for trunk in stored:
            sent = {key: value for key, value in trunk.items() if key != "id"}
            expected = parse_request_body(wanted[trunk["name"]]).request_body()
            assert sent == expected


def test_fleet_of_50_pbxs_with_4_workers(rollout: Rollout, fleet50: SimulatorThread) -> None:
    rollout.start_workers(4)
    rows = fleet_rows(fleet50.aliases(), per_pbx=4)
    result = rollout.submit(fleet50, rows)
    status = rollout.wait_final(result.job_id or "")
    assert status["outcome"] == "success"
    assert status["counts"]["succeeded"] == len(rows)
    assert_each_created_once(fleet50, rows)
    assert_delivered_once(fleet50, rollout.records(result.job_id or ""))
    for alias in fleet50.aliases():
        counters = fleet50.counters(alias)
        assert counters["requests"].get("get_token") == 1, alias
        assert counters["token_cap_hits"] == 0
        assert counters["violations"] == 0
        assert counters["logins_failed"] == 0
    assert all(record["attempts"] == 1 for record in rollout.records(result.job_id or ""))
    assert_no_secret_in(rollout.worker_output(), secrets_of(fleet50, rows))


def test_the_threads_pool_delivers_too(rollout: Rollout, sim3: SimulatorThread) -> None:
    # `--pool threads` runs the task body on a thread: the delivery is awaited there instead.
    rollout.start_workers(1, "--pool", "threads")
    rows = fleet_rows(sim3.aliases(), per_pbx=3)
    result = rollout.submit(sim3, rows)
    status = rollout.wait_final(result.job_id or "")
    assert status["counts"]["succeeded"] == len(rows)
    assert_each_created_once(sim3, rows)
    assert_delivered_once(sim3, rollout.records(result.job_id or ""))
    assert "(thread)" in rollout.worker_output()  # the banner names the pool in use


def test_tasks_of_a_busy_pbx_step_aside_and_come_back(rollout: Rollout) -> None:
    # One PBX at 50 ms and a short slot wait (the tests' 0.5 s): most of its 24 tasks would wait
    # longer than that, so they step aside (Celery retries) and come back when it needs them.
    with SimulatorThread(SimSettings(pbx_count=1, latency_ms=50)) as sim:
        rollout.start_workers(1)
        rows = fleet_rows(sim.aliases(), per_pbx=24)
        result = rollout.submit(sim, rows)
        status = rollout.wait_final(result.job_id or "")
        assert status["counts"]["succeeded"] == len(rows)
        assert_each_created_once(sim, rows)
        assert sim.counters(sim.aliases()[0])["violations"] == 0
        records = rollout.records(result.job_id or "")
        assert_delivered_once(sim, records)
    assert all(record["attempts"] == 1 for record in records)  # stepping aside is no attempt
    deferrals = [
        int(rollout.client.hget(keys.item(result.job_id or "", n), "deferrals") or 0)
        for n in range(1, len(rows) + 1)
    ]
    assert sum(deferrals) > 0


def test_a_small_job_submitted_later_is_not_queued_behind_a_big_one(rollout: Rollout) -> None:
    # First in, first out, the one trunk of the second job would wait for the first job's
    # backlog (all for two busy PBXs) to drain through the worker's 16 places.
    with SimulatorThread(SimSettings(pbx_count=3, latency_ms=20)) as sim:
        busy_a, busy_b, lone = sim.aliases()
        rollout.start_workers(1, "--concurrency", "16")
        big = rollout.submit(sim, fleet_rows([busy_a, busy_b], per_pbx=100))
        small = rollout.submit(sim, [(lone, register_body("lone-0", 900))])
        assert rollout.wait_final(small.job_id or "")["outcome"] == "success"
        big_status = rollout.store.status(big.job_id or "") or {}
        assert big_status["counts"]["succeeded"] < 100  # of 200: not half done yet
        assert rollout.wait_final(big.job_id or "")["outcome"] == "success"
        jobs = (big.job_id or "", small.job_id or "")
        assert_delivered_once(sim, [r for job in jobs for r in rollout.records(job)])


@pytest.mark.parametrize(
    "rules",
    [
        pytest.param(
            [{"endpoint": "trunk/create", "kind": "errcode-2", "every": 2}], id="errcode-2"
        ),
        pytest.param([{"endpoint": "trunk/create", "kind": "http503", "every": 2}], id="http503"),
        pytest.param(
            [{"endpoint": "trunk/create", "kind": "token_expired", "every": 3}], id="10004"
        ),
        pytest.param(
            [{"endpoint": "trunk/create", "kind": "drop_before", "every": 2}], id="drop-before"
        ),
        pytest.param(
            [{"endpoint": "trunk/create", "kind": "drop_after", "every": 2}], id="drop-after"
        ),
        pytest.param(
            [{"endpoint": "trunk/create", "kind": "slow", "every": 2, "slow_ms": 300}], id="slow"
        ),
        pytest.param("chaos", id="chaos-preset"),
    ],
)
def test_faults_end_succeeded_without_duplicates(
    rollout: Rollout, sim3: SimulatorThread, rules: Any
) -> None:
    sim3.set_faults(rules)
    rollout.start_workers(1)
    rows = fleet_rows(sim3.aliases(), per_pbx=6)
    result = rollout.submit(sim3, rows)
    status = rollout.wait_final(result.job_id or "")
    failed = [r for r in rollout.records(result.job_id or "") if r["state"] != "succeeded"]
    assert status["counts"]["succeeded"] == len(rows), [(r["state"], r["errmsg"]) for r in failed]
    assert_each_created_once(sim3, rows)
    assert_delivered_once(sim3, rollout.records(result.job_id or ""))
    # `attempts` counts every create request sent, replays after 10004 and re-sends included.
    sent = sum(sim3.counters(alias)["requests"].get("trunk/create", 0) for alias in sim3.aliases())
    assert sum(r["attempts"] for r in rollout.records(result.job_id or "")) == sent
    assert_no_secret_in(rollout.worker_output(), secrets_of(sim3, rows))


def _one_trunk_under(
    rollout: Rollout, sim: SimulatorThread, fault: str, **settings: str
) -> dict[str, Any]:
    """One trunk for the first PBX, every create of which meets `fault`, delivered by a worker
    with `settings`: its report record once final."""
    alias = sim.aliases()[0]
    sim.set_faults([{"endpoint": "trunk/create", "pbx": alias, "kind": fault}])
    rollout.settings.update(settings)
    rollout.start_workers(1)
    job_id = rollout.submit(sim, [(alias, register_body("trunk-0", 1))]).job_id or ""
    rollout.wait_final(job_id)
    [record] = rollout.records(job_id)
    assert_delivered_once(sim, [record])
    return record


def test_a_create_that_keeps_failing_gives_up_after_max_attempts(
    rollout: Rollout, sim3: SimulatorThread
) -> None:
    alias = sim3.aliases()[0]
    record = _one_trunk_under(rollout, sim3, "http503", TRUNKCTL_MAX_ATTEMPTS="3")
    assert record["state"] == "failed"
    assert record["errmsg"] == "gave up after 3 attempts: trunk/create: HTTP 503"
    assert record["attempts"] == 3
    assert sim3.counters(alias)["requests"]["trunk/create"] == 3
    assert sim3.trunks(alias) == []


def test_replays_after_10004_count_toward_max_attempts(
    rollout: Rollout, sim3: SimulatorThread
) -> None:
    # Every create answered 10004: each run sends one and its replay, but never more than
    # TRUNKCTL_MAX_ATTEMPTS in all (3 here: the second run stops before its replay).
    alias = sim3.aliases()[0]
    record = _one_trunk_under(rollout, sim3, "token_expired", TRUNKCTL_MAX_ATTEMPTS="3")
    assert record["state"] == "failed"
    assert (
        record["errmsg"] == "gave up after 3 attempts: trunk/create: TOKEN EXPIRED (errcode 10004)"
    )
    assert record["attempts"] == sim3.counters(alias)["requests"]["trunk/create"] == 3


def test_lookups_that_keep_failing_give_up_after_max_attempts_tries(
    rollout: Rollout, sim3: SimulatorThread
) -> None:
    # The create's answer is lost, and every lookup before a re-send meets a 503: the tries are
    # bounded like the creates are (not only by the retry window), sparing a sick PBX.
    alias = sim3.aliases()[0]
    sim3.set_faults(
        [
            {"endpoint": "trunk/create", "pbx": alias, "kind": "drop_after", "nth": 1},
            {"endpoint": "trunk/search", "pbx": alias, "kind": "http503"},
        ]
    )
    rollout.settings.update(TRUNKCTL_MAX_ATTEMPTS="3")
    rollout.start_workers(1)
    job_id = rollout.submit(sim3, [(alias, register_body("trunk-0", 1))]).job_id or ""
    rollout.wait_final(job_id)
    [record] = rollout.records(job_id)
    assert_delivered_once(sim3, [record])
    assert record["state"] == "failed"
    assert record["errmsg"] == "gave up after 3 failed tries: trunk/search: HTTP 503"
    assert record["attempts"] == 1
    requests = sim3.counters(alias)["requests"]
    assert (requests["trunk/create"], requests["trunk/search"]) == (1, 2)


def test_a_create_that_keeps_failing_gives_up_when_its_retry_window_ends(
    rollout: Rollout,
) -> None:
    # Each try (a lookup, then the create) takes 0.3 s or more: a 1 s window ends first.
    with SimulatorThread(SimSettings(pbx_count=1, latency_ms=150)) as sim:
        alias = sim.aliases()[0]
        record = _one_trunk_under(
            rollout, sim, "http503", TRUNKCTL_MAX_ATTEMPTS="50", TRUNKCTL_RETRY_WINDOW_S="1"
        )
        assert record["state"] == "failed"
        assert re.fullmatch(
            r"gave up after \d+ s of retries: trunk/create: HTTP 503", record["errmsg"]
        )
        assert 1 < record["attempts"] < 50
        assert sim.counters(alias)["requests"]["trunk/create"] == record["attempts"]


def test_a_create_answered_with_a_web_page_is_looked_up_before_it_is_sent_again(
    rollout: Rollout, sim3: SimulatorThread
) -> None:
    # The PBX stores the trunk, then something (a proxy) answers with a page instead of the API's
    # JSON. The item fails with the reason, but stays "maybe sent": `retry` looks the name up
    # first, finds the trunk this job made, and records it as `succeeded`, with no second create.
    alias = sim3.aliases()[0]
    record = _one_trunk_under(rollout, sim3, "garbled_after")
    assert record["state"] == "failed"
    assert record["errmsg"].startswith("trunk/create: HTTP 200 with no API answer")
    assert record["attempts"] == 1
    [stored] = sim3.trunks(alias)
    sim3.set_faults([])
    job_id = rollout.store.list_jobs(1)[0]["job_id"]
    assert rollout.submitter.retry(job_id, None).requeued == 1
    assert rollout.wait_final(job_id)["outcome"] == "success"
    [again] = rollout.records(job_id)
    assert_delivered_once(sim3, [again])
    assert again["state"] == "succeeded"
    assert again["trunk_id"] == stored["id"]
    assert again["attempts"] == 1
    assert sim3.counters(alias)["requests"]["trunk/create"] == 1


def test_a_pbx_that_is_down_is_waited_for_within_the_retry_window(rollout: Rollout) -> None:
    # Rebooting, say: no connection can be made, so nothing reaches it. Its item is retried
    # (without counting tries: TRUNKCTL_MAX_ATTEMPTS is 2 here) until it is back.
    settings = SimSettings(pbx_count=1, seed=7)
    with SimulatorThread(settings) as before_reboot:
        port = urlsplit(before_reboot.root_url).port or 0
        inventory = before_reboot.inventory_rows()
        alias = before_reboot.aliases()[0]
    rollout.settings.update(TRUNKCTL_MAX_ATTEMPTS="2")
    rollout.start_workers(1)
    rows = [(alias, register_body("trunk-0", 1))]
    job_id = rollout.submit(before_reboot, rows, inventory).job_id or ""
    item_key = keys.item(job_id, 1)

    def down_for_2_s() -> bool | None:
        errmsg, first_try_at = rollout.client.hmget(item_key, "errmsg", "first_try_at")
        seen_down = errmsg and b"ClientConnectorError" in errmsg and first_try_at
        return True if seen_down and time.time() - float(first_try_at or 0) > 2 else None

    wait_for(down_for_2_s, 30, "tries while the PBX is down")  # backoff at most 0.3 s in tests
    # Still being retried (between two runs, or in one), not given up.
    assert rollout.client.hget(item_key, "state") in (b"retrying", b"running")
    with SimulatorThread(settings, port=port) as after_reboot:
        rollout.wait_final(job_id)
        [record] = rollout.records(job_id)
        assert_delivered_once(after_reboot, [record])
        assert (record["state"], record["attempts"]) == ("succeeded", 1)
        assert after_reboot.counters(alias)["requests"]["trunk/create"] == 1


def test_wrong_secret_fails_one_pbx_after_one_login(
    rollout: Rollout, sim3: SimulatorThread
) -> None:
    bad, *good = sim3.aliases()
    inventory = sim3.inventory_rows()
    client_id = next(row["client_id"] for row in inventory if row["pbx"] == bad)
    sim3.set_secret(bad, "the-admin-changed-it")
    rollout.start_workers(2)
    rows = fleet_rows(sim3.aliases(), per_pbx=8)
    result = rollout.submit(sim3, rows, inventory)
    status = rollout.wait_final(result.job_id or "")
    assert status["outcome"] == "partial"
    assert status["pbxs"][bad] == {"failed": 8}
    assert sim3.counters(bad)["logins_failed"] == 1
    assert sim3.counters(bad)["logins_ok"] == 0
    for record in rollout.records(result.job_id or ""):
        if record["pbx"] == bad:
            assert record["state"] == "failed"
            assert record["errcode"] == -1
            # What the PBX answered, when, by which job, and what to do.
            assert record["errmsg"].startswith(
                f"login refused by the PBX for client id {client_id!r} (errcode -1 FAILURE) at "
            )
            assert record["errmsg"].endswith(
                f"by job {result.job_id}: check client_id/client_secret; not tried again until "
                "the inventory changes the secret or `retry --relogin`"
            )
            assert record["attempts"] == 0
        else:
            assert record["state"] == "succeeded"
    for alias in good:
        assert len(sim3.trunks(alias)) == 8
    assert_delivered_once(sim3, rollout.records(result.job_id or ""))
    # The admin puts the secret back on the PBX: `retry --relogin`, with the same inventory,
    # sends it again (a plain `retry` would not, for a day).
    original = next(row["client_secret"] for row in inventory if row["pbx"] == bad)
    sim3.set_secret(bad, original)
    assert rollout.submitter.retry(result.job_id or "", None, relogin=True).requeued == 8
    assert rollout.wait_final(result.job_id or "")["outcome"] == "success"
    assert sim3.counters(bad)["logins_failed"] == 1
    assert len(sim3.trunks(bad)) == 8
    assert_delivered_once(sim3, rollout.records(result.job_id or ""))
    assert_no_secret_in(rollout.worker_output(), secrets_of(sim3, rows))


def test_an_item_that_keeps_failing_unexpectedly_ends_failed(
    rollout: Rollout, sim3: SimulatorThread
) -> None:
    # A stored item the worker cannot read (no PBX answer involved): its task retries, then gives
    # up, and the item ends `failed` with the reason, so that the job ends.
    rows = fleet_rows(sim3.aliases()[:1], per_pbx=2)
    result = rollout.submit(sim3, rows)  # queued; no worker runs yet
    job_id = result.job_id or ""
    rollout.client.hset(keys.item(job_id, 2), "body", "{not json")
    rollout.start_workers(1)
    status = rollout.wait_final(job_id)
    assert status["counts"]["succeeded"] == 1
    assert status["counts"]["failed"] == 1
    assert_delivered_once(sim3, rollout.records(job_id))
    broken = rollout.records(job_id)[1]
    assert broken["state"] == "failed"
    assert broken["errmsg"].startswith("gave up after 21 errors: JSONDecodeError")
    assert "Traceback" not in rollout.worker_output()
    assert_no_secret_in(rollout.worker_output(), secrets_of(sim3, rows))


def test_trunk_already_on_the_pbx_ends_exists(rollout: Rollout, sim3: SimulatorThread) -> None:
    alias = sim3.aliases()[0]
    [existing_id] = sim3.preload_trunks(alias, [register_body("trunk-0", 99)])
    rollout.start_workers(1)
    rows = fleet_rows([alias], per_pbx=3)
    result = rollout.submit(sim3, rows)
    rollout.wait_final(result.job_id or "")
    records = {r["name"]: r for r in rollout.records(result.job_id or "")}
    assert_delivered_once(sim3, records.values())
    assert records["trunk-0"]["state"] == "exists"
    assert records["trunk-0"]["trunk_id"] == existing_id
    assert {records[n]["state"] for n in ("trunk-1", "trunk-2")} == {"succeeded"}
    assert sim3.counters(alias)["creates"] == 2


def test_a_trunk_found_only_after_a_failed_lookup_still_ends_exists(
    rollout: Rollout, sim3: SimulatorThread
) -> None:
    # 40003, then the lookup fails (-2): the run after it must not take the trunk for its own,
    # and looks the name up before it sends anything ("on 40003, look it up").
    alias = sim3.aliases()[0]
    [existing_id] = sim3.preload_trunks(alias, [register_body("trunk-0", 99)])
    sim3.set_faults([{"pbx": alias, "endpoint": "trunk/search", "kind": "errcode-2", "nth": 1}])
    rollout.start_workers(1)
    result = rollout.submit(sim3, fleet_rows([alias], per_pbx=1))
    rollout.wait_final(result.job_id or "")
    [record] = rollout.records(result.job_id or "")
    assert_delivered_once(sim3, [record])
    assert (record["state"], record["trunk_id"]) == ("exists", existing_id)
    requests = sim3.counters(alias)["requests"]
    assert requests["trunk/search"] == 2
    assert record["attempts"] == requests["trunk/create"] == 1
    assert len(sim3.trunks(alias)) == 1


@pytest.mark.parametrize("workers", [1, 3])
def test_items_waiting_when_a_create_is_refused_access_send_nothing(
    rollout: Rollout, workers: int
) -> None:
    # 10009 on trunk/create (an API client without the permission): the credentials are bad for
    # the job, so the tasks already waiting for that PBX's slot, in any worker process, fail
    # without sending theirs.
    with SimulatorThread(SimSettings(pbx_count=2, latency_ms=100)) as sim:
        denied, fine = sim.aliases()
        sim.set_faults([{"pbx": denied, "endpoint": "trunk/create", "kind": "access_denied"}])
        rollout.start_workers(workers)
        rows = fleet_rows([denied, fine], per_pbx=12)
        result = rollout.submit(sim, rows)
        status = rollout.wait_final(result.job_id or "")
        assert status["pbxs"] == {denied: {"failed": 12}, fine: {"succeeded": 12}}
        assert sim.counters(denied)["requests"]["trunk/create"] == 1
        assert_delivered_once(sim, rollout.records(result.job_id or ""))
        refused = [r for r in rollout.records(result.job_id or "") if r["pbx"] == denied]
        assert {(r["errcode"], r["errmsg"]) for r in refused} == {(10009, "OPERATION FAILED")}
        assert sum(r["attempts"] for r in refused) == 1
        assert_no_secret_in(rollout.worker_output(), secrets_of(sim, rows))


@pytest.mark.timeout(180)
def test_worker_killed_mid_batch_loses_nothing(rollout: Rollout) -> None:
    with SimulatorThread(SimSettings(pbx_count=4, latency_ms=100)) as sim:
        [first] = rollout.start_workers(1)
        rows = fleet_rows(sim.aliases(), per_pbx=10)
        result = rollout.submit(sim, rows)
        job_id = result.job_id or ""
        wait_for(
            lambda: True if sum(sim.counters(a)["creates"] for a in sim.aliases()) >= 8 else None,
            30, "some trunks created",
        )  # fmt: skip
        first.kill()
        # Killed, say, while it swept for unacknowledged tasks: kombu's sweep lock is left
        # behind, as long as the worker's settings make it live (kombu's own default: 300 s).
        options = make_app(Settings.from_env(FAST_SETTINGS)).conf.broker_transport_options
        rollout.client.set("unacked_mutex", "the-dead-worker", ex=options["unacked_mutex_expire"])
        assert not rollout.wait_final_or_none(job_id)
        rollout.start_workers(1)
        # Bounded by the dead worker's leases (10 s) and the visibility timeout (4 s in tests).
        status = rollout.wait_final(job_id, timeout_s=120)
        assert status["counts"]["succeeded"] == len(rows)
        assert_each_created_once(sim, rows)
        assert_delivered_once(sim, rollout.records(job_id))


@pytest.mark.timeout(120)
def test_a_cold_shutdown_cancels_the_runs_in_progress_and_lets_their_items_go(
    rollout: Rollout,
) -> None:
    # SIGQUIT (or Ctrl-C twice): Celery cancels the tasks in progress through the pool. Their
    # runs unwind, giving their items' claims back, so a worker started next takes them at once.
    with SimulatorThread(SimSettings(pbx_count=2, latency_ms=300)) as sim:
        [first] = rollout.start_workers(1)
        rows = fleet_rows(sim.aliases(), per_pbx=10)
        job_id = rollout.submit(sim, rows).job_id or ""
        wait_for(
            lambda: True if sum(sim.counters(a)["creates"] for a in sim.aliases()) >= 2 else None,
            30, "some trunks created",
        )  # fmt: skip
        first.process.send_signal(signal.SIGQUIT)
        assert first.process.wait(timeout=30) is not None
        output = first.output()
        assert "NotImplementedError" not in output
        assert "Traceback" not in output
        locks = [keys.item_lock(job_id, n) for n in range(1, len(rows) + 1)]
        assert not rollout.client.exists(*locks)  # no claim of the dead worker holds an item
        rollout.start_workers(1)
        status = rollout.wait_final(job_id, timeout_s=60)
        assert status["counts"]["succeeded"] == len(rows)
        assert_each_created_once(sim, rows)
        assert_delivered_once(sim, rollout.records(job_id))


@pytest.mark.timeout(120)
def test_a_warm_shutdown_finishes_the_runs_in_progress_and_hands_back_the_rest(
    rollout: Rollout,
) -> None:
    # SIGTERM (or one Ctrl-C; docker stop): the runs in progress finish, the tasks not started
    # go back to the queue, and a worker running beside it delivers them; nothing twice.
    with SimulatorThread(SimSettings(pbx_count=2, latency_ms=200)) as sim:
        first, second = rollout.start_workers(2)
        rows = fleet_rows(sim.aliases(), per_pbx=12)
        job_id = rollout.submit(sim, rows).job_id or ""
        wait_for(
            lambda: True if sum(sim.counters(a)["creates"] for a in sim.aliases()) >= 4 else None,
            30, "some trunks created",
        )  # fmt: skip
        first.process.send_signal(signal.SIGTERM)
        assert first.process.wait(timeout=60) == 0
        output = first.output()
        assert "Traceback" not in output
        status = rollout.wait_final(job_id, timeout_s=90)
        assert status["counts"]["succeeded"] == len(rows)
        assert second.process.poll() is None
        assert_each_created_once(sim, rows)
        assert_delivered_once(sim, rollout.records(job_id))


def test_a_pbx_whose_certificate_fails_pinning_fails_its_items_at_once(
    rollout: Rollout, tmp_path: Path
) -> None:
    # No retry changes a certificate: the PBX's items fail with the reason (as with refused
    # credentials), the other PBX of the job is served as usual.
    made = self_signed(tmp_path / "tls")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(made.cert_file, made.key_file)
    with SimulatorThread(SimSettings(pbx_count=2), ssl_context=context) as sim:
        pinned_wrong, pinned_right = sim.aliases()
        inventory = sim.inventory_rows()
        inventory[0]["tls_fingerprint"] = "ab" * 32
        inventory[1]["tls_fingerprint"] = made.sha256
        rollout.start_workers(1)
        rows = fleet_rows([pinned_wrong, pinned_right], per_pbx=5)
        job_id = rollout.submit(sim, rows, inventory).job_id or ""
        rollout.wait_final(job_id, timeout_s=30)  # not after ten minutes of retries
        records = rollout.records(job_id)
        assert_delivered_once(sim, records)
        wrong = [r for r in records if r["pbx"] == pinned_wrong]
        assert {r["state"] for r in wrong} == {"failed"}
        assert {r["attempts"] for r in wrong} == {0}  # no create ever left
        assert wrong[0]["errmsg"].startswith(
            f"get_token: TLS certificate fingerprint mismatch: pinned SHA-256 {'ab' * 32}, "
            f"the PBX showed {made.sha256}"
        )
        assert {r["state"] for r in records if r["pbx"] == pinned_right} == {"succeeded"}
        assert sim.counters(pinned_wrong)["requests"] == {}
