"""Worker processes on this machine for `run` and `demo`: the real Celery worker, started and
stopped cleanly, its output in a log file.

Workers run in their own session, so that Ctrl-C reaches only the command, which stops them in
order: a warm shutdown first (the requests in flight finish, unstarted tasks go back to the
queue), a cold one when asked again or past the grace period. A worker whose command dies
(`kill -9`) notices and stops itself (TRUNKCTL_WORKER_PARENT_PID, see worker.celery_app).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Self

from core.errors import InterruptedByUserError, TrunkctlError

READY_TIMEOUT_S = 60.0
# A warm shutdown lets runs in progress finish: up to 30 s, and a slot wait on top.
WARM_STOP_S = 60.0
COLD_STOP_S = 15.0
_POLL_S = 0.05


class WorkersFailedError(TrunkctlError):
    """Raised when a local worker exits before it is ready."""


class LocalWorkers:
    """N `celery -A worker worker` processes, started at once, stopped together."""

    def __init__(
        self,
        count: int,
        env: Mapping[str, str],
        log_dir: Path,
        notify: Callable[[str], None] = lambda _: None,
    ) -> None:
        self._notify = notify
        log_dir.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        self.log_paths = [log_dir / f"run-{stamp}-{os.getpid()}-w{n}.log" for n in range(count)]
        self._ready_files = [path.with_suffix(".ready") for path in self.log_paths]
        self._processes = [
            self._start(n, env, log_path, ready_file)
            for n, (log_path, ready_file) in enumerate(
                zip(self.log_paths, self._ready_files, strict=True)
            )
        ]

    @staticmethod
    def _start(
        number: int, env: Mapping[str, str], log_path: Path, ready_file: Path
    ) -> subprocess.Popen[bytes]:
        ready_file.unlink(missing_ok=True)
        with log_path.open("ab") as log:
            return subprocess.Popen(  # noqa: S603 - this interpreter, our own worker
                [
                    sys.executable, "-m", "celery", "-A", "worker", "worker", "--loglevel", "INFO",
                    "--hostname", f"run{number}-{os.getpid()}@%h", "--without-gossip",
                    "--without-mingle", "--without-heartbeat",
                ],
                env={
                    **os.environ, **env, "TRUNKCTL_WORKER_READY_FILE": str(ready_file),
                    "TRUNKCTL_WORKER_PARENT_PID": str(os.getpid()),
                },
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip

    def wait_ready(self) -> None:
        """Block until every worker consumes; WorkersFailedError if one exits first."""
        deadline = time.monotonic() + READY_TIMEOUT_S
        for process, ready_file, log_path in zip(
            self._processes, self._ready_files, self.log_paths, strict=True
        ):
            while not ready_file.exists():
                if process.poll() is not None or time.monotonic() > deadline:
                    raise WorkersFailedError(f"a local worker did not start: see {log_path}")
                time.sleep(_POLL_S)

    def stop(self) -> None:
        """Warm shutdown of every worker; cold at a second Ctrl-C or after WARM_STOP_S."""
        for signum, timeout_s in ((signal.SIGTERM, WARM_STOP_S), (signal.SIGQUIT, COLD_STOP_S)):
            with contextlib.suppress(KeyboardInterrupt):
                self._signal_and_wait(signum, timeout_s)
        self._signal_and_wait(signal.SIGKILL, COLD_STOP_S)
        for ready_file in self._ready_files:
            ready_file.unlink(missing_ok=True)

    def _signal_and_wait(self, signum: int, timeout_s: float) -> None:
        running = [process for process in self._processes if process.poll() is None]
        for process in running:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signum)
        deadline = time.monotonic() + timeout_s
        for process in running:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=max(0.0, deadline - time.monotonic()))

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if isinstance(exc, KeyboardInterrupt | InterruptedByUserError):
            self._notify(
                "stopping the local workers: the requests in flight finish "
                "(Ctrl-C again stops them at once)"
            )
        self.stop()
