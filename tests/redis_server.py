"""A throwaway Redis server on a free port, for the test session."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import redis

from core import embedded_redis


def free_port() -> int:
    """A TCP port that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def redis_server_binary() -> str:
    """TRUNKCTL_TEST_REDIS_SERVER, else the one the embedded default would start."""
    return os.environ.get("TRUNKCTL_TEST_REDIS_SERVER") or embedded_redis.redis_server_binary()


class RedisServer:
    """A redis-server child process that keeps nothing on disk, unless `persistent` (an
    append-only file, written at every command, so that a restart keeps everything)."""

    def __init__(
        self, *, persistent: bool = False, unix_socket: bool = False, fsync: str = "always"
    ) -> None:
        self.port = free_port()
        self._dir = tempfile.mkdtemp(prefix="trunkctl-redis-")
        self._persistent = persistent
        self._fsync = fsync  # the append-only file's fsync policy when persistent
        self._socket = Path(self._dir) / "redis.sock" if unix_socket else None
        self._process = self._start()

    def _start(self) -> subprocess.Popen[bytes]:
        options = ["--appendonly", "yes", "--appendfsync", self._fsync] if self._persistent else []
        if self._socket is not None:
            options += ["--unixsocket", str(self._socket)]
        process = subprocess.Popen(
            [
                redis_server_binary(),
                "--port", str(self.port),
                "--bind", "127.0.0.1",
                "--save", "",
                "--appendonly", "no",
                *options,
                "--dir", self._dir,
                "--databases", "4",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        self._process = process
        self._wait_ready(deadline_s=10.0)
        return process

    def kill_and_restart(self, down_s: float) -> None:
        """SIGKILL the server (no time to write anything more), and start it again after
        `down_s` with what its append-only file had on disk."""
        self._process.kill()
        self._process.wait(timeout=10)
        time.sleep(down_s)  # the outage itself
        self._start()

    def restart(self, down_s: float) -> None:
        """Stop the server (as an outage would: clients lose their connections), and start it
        again on the same port after `down_s`, with what it kept on disk."""
        self._process.terminate()
        self._process.wait(timeout=10)
        time.sleep(down_s)  # the outage itself
        self._start()

    @property
    def pid(self) -> int:
        """The server's process id."""
        return self._process.pid

    def url(self, db: int = 1) -> str:
        """The server's URL; tests use database 1, never database 0."""
        return f"redis://127.0.0.1:{self.port}/{db}"

    def unix_url(self, db: int = 1) -> str:
        """The server's unix socket URL, as redis-py reads it (with `unix_socket`)."""
        assert self._socket is not None, "started without a unix socket"
        return f"unix://{self._socket}?db={db}"

    def _wait_ready(self, deadline_s: float) -> None:
        client = redis.Redis(port=self.port, socket_connect_timeout=0.2)
        deadline = time.monotonic() + deadline_s
        while True:
            try:
                client.ping()
            except redis.ConnectionError:
                if self._process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.02)
            else:
                client.close()
                return

    def stop(self) -> None:
        """Stop the server and remove its directory."""
        self._process.terminate()
        self._process.wait(timeout=10)
        shutil.rmtree(Path(self._dir), ignore_errors=True)
