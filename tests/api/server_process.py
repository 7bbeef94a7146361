"""A real `trunkctl serve` process on a free port, its log kept for the tests to read."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Mapping
from pathlib import Path

READY_TIMEOUT_S = 30.0
READY_TEXT = "serving the status page and the API at "


class ServeProcess:
    """`python -m trunkctl serve --port 0 ...` with its stderr (the log) in a file."""

    def __init__(self, env: Mapping[str, str], log_path: Path, *args: str) -> None:
        self.log_path = log_path
        self.url = ""  # the page's URL, once wait_ready has returned it
        self._log = log_path.open("w", encoding="utf-8")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "trunkctl", "serve", "--port", "0", *args],
            env={**os.environ, **env},
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
            start_new_session=True,
        )
        self._lines: queue.Queue[str | None] = queue.Queue()
        self.stdout: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.stdout.append(line)
            self._lines.put(line)
        self._lines.put(None)

    def wait_ready(self) -> str:
        """The page's URL, once the server listens (RuntimeError if it exits first)."""
        while True:
            try:
                line = self._lines.get(timeout=READY_TIMEOUT_S)
            except queue.Empty:
                line = None
            if line is None:
                raise RuntimeError(f"trunkctl serve did not start:\n{self.output()}")
            if READY_TEXT in line:
                self.url = line.split(READY_TEXT, 1)[1].split()[0]
                return self.url

    def wait_exit(self, timeout_s: float = 30.0) -> int:
        """The exit code of a server that stops by itself (a refusal to start, say)."""
        return self.process.wait(timeout_s)

    def output(self) -> str:
        """Everything the server printed: stdout, then its log."""
        if not self._log.closed:
            self._log.flush()
        return "".join(self.stdout) + self.log_path.read_text(encoding="utf-8")

    def stop(self) -> int:
        """Stop the server as Ctrl-C would; its exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._reader.join(10)
        if self.process.stdout is not None:
            self.process.stdout.close()
        self._log.close()
        return self.process.returncode
