"""A real Celery worker process (`celery -A worker worker`) for end-to-end tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path

READY_TIMEOUT_S = 30.0

# Settings that make a test run fast: short backoff, quick redelivery of a killed worker's tasks.
FAST_SETTINGS = {
    "TRUNKCTL_VISIBILITY_TIMEOUT_S": "4",
    "TRUNKCTL_RESTORE_INTERVAL_S": "1",
    "TRUNKCTL_BACKOFF_BASE_S": "0.02",
    "TRUNKCTL_BACKOFF_MAX_S": "0.3",
    "TRUNKCTL_SLOT_WAIT_S": "0.5",
    "TRUNKCTL_WORKER_CONCURRENCY": "32",
}


class WorkerProcess:
    """`celery -A worker worker` in a child process, its output captured line by line."""

    def __init__(
        self,
        env: Mapping[str, str],
        name: str,
        log_path: Path,
        *,
        fast: bool = True,
        celery_args: tuple[str, ...] = (),
        command: tuple[str, ...] | None = None,
    ) -> None:
        """Start the worker; `fast` applies FAST_SETTINGS (tests), else the product's defaults.
        `celery_args` go to `celery worker` as a user would add them; `command` replaces the
        whole command line (`trunkctl worker`, say)."""
        self.log_path = log_path
        self.ready_file = log_path.with_suffix(".ready")
        self._log = log_path.open("w", encoding="utf-8")
        self.process = subprocess.Popen(
            list(command) if command else [
                sys.executable, "-m", "celery", "-A", "worker", "worker",
                "--loglevel", "INFO", "--hostname", f"{name}@%h",
                "--without-gossip", "--without-mingle", "--without-heartbeat", *celery_args,
            ],
            env={
                **os.environ, **(FAST_SETTINGS if fast else {}), **env,
                "TRUNKCTL_WORKER_READY_FILE": str(self.ready_file),
                # A test session that is killed leaves no worker behind.
                "TRUNKCTL_WORKER_PARENT_PID": str(os.getpid()),
            },
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )  # fmt: skip
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._log.write(line)
            self._log.flush()

    def wait_ready(self) -> None:
        """Block until the worker's ready file exists (it consumes from then on)."""
        deadline = time.monotonic() + READY_TIMEOUT_S
        while not self.ready_file.exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"worker did not start:\n{self.output()}")
            time.sleep(0.05)

    def output(self) -> str:
        """Everything the worker has printed so far."""
        self._log.flush()
        return self.log_path.read_text(encoding="utf-8")

    def kill(self) -> None:
        """SIGKILL the worker and its children: no warm shutdown, no acks."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        self._reader.join(timeout=5)

    def stop(self) -> None:
        """Stop the worker (SIGTERM: warm shutdown), killing it if it hangs."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
        self._reader.join(timeout=5)
        if self.process.stdout is not None:
            self.process.stdout.close()
        self._log.close()


def local_workers_of(command_pid: int) -> list[int]:
    """Live processes of the workers that a `run` or `demo` (its pid) started: they carry its
    pid in their Celery hostname."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            status = (entry / "status").read_text()
        except OSError:
            continue
        if f"-{command_pid}@".encode() in cmdline and "State:\tZ" not in status:
            found.append(int(entry.name))
    return found
