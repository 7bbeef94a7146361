"""The embedded Redis: started on demand, shared, persistent, private, and found again."""

from __future__ import annotations

import os
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from core.embedded_redis import EmbeddedRedis, redis_target
from tests.e2e import wait_for


@pytest.fixture
def server(tmp_path: Path) -> Iterator[EmbeddedRedis]:
    """An embedded server of a data directory of the test's own, stopped after it."""
    embedded = EmbeddedRedis(tmp_path / "data")
    yield embedded
    embedded.stop()


NO_RETRY = Retry(NoBackoff(), 0)


def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_connect_timeout=2, retry=NO_RETRY)


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_the_first_command_starts_it_private_and_password_protected(
    server: EmbeddedRedis,
) -> None:
    url, started = server.url()
    assert started
    state = server.running()
    assert state is not None
    assert _client(url).ping()
    with pytest.raises(redis.AuthenticationError):  # no password, no data
        redis.Redis(port=state.port, retry=NO_RETRY).ping()
    password = (server.home / "password").read_text().strip()
    assert stat.S_IMODE(server.home.stat().st_mode) == 0o700
    assert stat.S_IMODE((server.home / "password").stat().st_mode) == 0o600
    # Not on its command line, where `ps` would show it to every user of the machine.
    assert password.encode() not in Path(f"/proc/{state.pid}/cmdline").read_bytes()
    assert password not in server.description
    assert _client(url).config_get("bind")["bind"] == "127.0.0.1"
    assert _client(url).config_get("appendonly")["appendonly"] == "yes"


def test_a_second_command_uses_the_running_one(server: EmbeddedRedis) -> None:
    first_url, _ = server.url()
    again_url, started = EmbeddedRedis(server.home.parent).url()
    assert (again_url, started) == (first_url, False)


def test_concurrent_commands_start_one_server(tmp_path: Path) -> None:
    code = (
        "import sys; from pathlib import Path; from core.embedded_redis import EmbeddedRedis; "
        "s = EmbeddedRedis(Path(sys.argv[1])); s.url(); print(s.running().pid)"
    )
    data = tmp_path / "data"
    commands = [
        subprocess.Popen([sys.executable, "-c", code, str(data)], stdout=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    try:
        pids = {command.communicate(timeout=30)[0].strip() for command in commands}
        assert len(pids) == 1
    finally:
        EmbeddedRedis(data).stop()


def test_history_survives_a_restart(server: EmbeddedRedis) -> None:
    url, _ = server.url()
    _client(url).set("trunkctl:test", "kept")
    assert server.stop()
    assert server.running() is None
    url, started = server.url()
    assert started
    assert _client(url).get("trunkctl:test") == b"kept"


def test_a_server_killed_is_replaced_and_keeps_what_it_had_written(
    server: EmbeddedRedis,
) -> None:
    url, _ = server.url()
    client = _client(url)
    client.set("trunkctl:test", "kept")
    client.bgrewriteaof()  # on disk and synced, as a second of everysec would have it
    wait_for(
        lambda: (
            (
                client.info("persistence")["aof_rewrite_in_progress"] == 0
                and client.info("persistence")["aof_rewrite_scheduled"] == 0
            )
            or None
        ),
        10,
        "the AOF rewrite",
    )
    state = server.running()
    assert state is not None
    os.kill(state.pid, signal.SIGKILL)
    wait_for(lambda: _gone(state.pid) or None, 10, "the server to die")
    url, started = server.url()  # the state file still names the dead one
    assert started
    new_state = server.running()
    assert new_state is not None
    assert new_state.pid != state.pid
    assert _client(url).get("trunkctl:test") == b"kept"


def test_two_data_directories_do_not_meet(tmp_path: Path) -> None:
    mine, theirs = EmbeddedRedis(tmp_path / "mine"), EmbeddedRedis(tmp_path / "theirs")
    try:
        my_url, _ = mine.url()
        their_url, _ = theirs.url()
        assert my_url != their_url
        _client(my_url).set("trunkctl:test", "mine")
        assert _client(their_url).get("trunkctl:test") is None
        their_state = theirs.running()
        assert their_state is not None
        my_password = (mine.home / "password").read_text().strip()
        with pytest.raises(redis.AuthenticationError):
            redis.Redis(port=their_state.port, password=my_password, retry=NO_RETRY).ping()
    finally:
        mine.stop()
        theirs.stop()


def test_a_port_taken_meanwhile_means_a_new_port(server: EmbeddedRedis) -> None:
    server.url()
    state = server.running()
    assert state is not None
    server.stop()
    with socket.socket() as squatter:  # something else took the port while it was stopped
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        squatter.bind(("127.0.0.1", state.port))
        squatter.listen()
        url, started = server.url()
        assert started
        new_state = server.running()
        assert new_state is not None
        assert new_state.port != state.port
        assert _client(url).ping()


def test_something_else_on_its_port_is_not_taken_for_it(
    server: EmbeddedRedis, tmp_path: Path
) -> None:
    """After a reboot, another Redis may listen on the old port: the state file's pid tells."""
    server.url()
    state = server.running()
    assert state is not None
    server.stop()
    (server.home / "state.json").write_text(f'{{"pid": 1, "port": {state.port}}}')
    _url, started = server.url()
    assert started


def test_a_url_set_starts_nothing(tmp_path: Path, redis_url: str) -> None:
    target = redis_target(redis_url, tmp_path / "data")
    assert target.url == redis_url
    assert target.embedded is None
    assert target.announcement() is None
    assert not (tmp_path / "data").exists()


def _cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "trunkctl", *args], capture_output=True, text=True, env=env,
        timeout=60, check=False,
    )  # fmt: skip


def test_commands_say_once_which_redis_they_use_never_its_password(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "TRUNKCTL_REDIS_URL"}
    env["TRUNKCTL_DATA_DIR"] = str(tmp_path / "data")
    try:
        first = _cli(["jobs"], env)
        second = _cli(["jobs", "--json"], env)
        status = _cli(["redis", "status"], env)
    finally:
        EmbeddedRedis(tmp_path / "data").stop()
    assert first.returncode == second.returncode == 0, first.stderr
    password = (tmp_path / "data" / "redis" / "password").read_text().strip()
    assert first.stderr.startswith("trunkctl: started the embedded Redis at 127.0.0.1:")
    assert second.stderr.startswith("trunkctl: using the embedded Redis at 127.0.0.1:")
    assert first.stderr.count("\n") == second.stderr.count("\n") == 1
    assert status.stdout.startswith("running: embedded Redis at 127.0.0.1:")
    for output in (first, second, status):
        assert password not in output.stdout + output.stderr
    assert second.stdout.startswith('{\n  "jobs": [')  # stdout stays the script's


def test_redis_stop_stops_it(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "TRUNKCTL_REDIS_URL"}
    env["TRUNKCTL_DATA_DIR"] = str(tmp_path / "data")
    assert _cli(["jobs"], env).returncode == 0
    state = EmbeddedRedis(tmp_path / "data").running()
    assert state is not None
    stopped = _cli(["redis", "stop"], env)
    assert stopped.stdout == "stopped\n"
    deadline = time.monotonic() + 10
    while not _gone(state.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _gone(state.pid)


def test_a_restarted_server_is_used_only_once_its_history_is_loaded(
    server: EmbeddedRedis,
) -> None:
    url, _ = server.url()
    client = _client(url)
    with client.pipeline(transaction=False) as pipe:
        for n in range(200_000):  # a history that takes Redis a moment to load
            pipe.set(f"trunkctl:test:{n}", "x" * 20)
        pipe.execute()
    assert server.stop()
    url, started = server.url()
    assert started
    # Not "LOADING Redis is loading the dataset in memory": url() waited for it.
    assert _client(url).get("trunkctl:test:199999") == b"x" * 20
