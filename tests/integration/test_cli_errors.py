"""What a user sees when the environment is wrong: one clear line and exit code 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.redis_server import free_port

TRUNKCTL = str(Path(sys.executable).parent / "trunkctl")


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [TRUNKCTL, *args], env={**os.environ, **env}, capture_output=True, text=True,
        timeout=60, check=False,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("env", "args", "message"),
    [
        pytest.param(
            {"TRUNKCTL_REDIS_URL": f"redis://:hunter2-pass@127.0.0.1:{free_port()}/1"},
            ("status", "some-job"), "cannot reach Redis", id="redis-down",
        ),
        pytest.param(
            {"TRUNKCTL_VISIBILITY_TIMEOUT_S": "soon"}, ("jobs",),
            "TRUNKCTL_VISIBILITY_TIMEOUT_S must be a whole number", id="bad-setting",
        ),
    ],
)  # fmt: skip
def test_environment_problems_are_one_line_and_exit_2(
    env: dict[str, str], args: tuple[str, ...], message: str
) -> None:
    done = run(env, *args)
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert "hunter2-pass" not in done.stderr + done.stdout


@pytest.mark.parametrize("command", ["status", "report", "retry"])
def test_an_unknown_job_is_exit_2(redis_url: str, command: str) -> None:
    done = run({"TRUNKCTL_REDIS_URL": redis_url}, command, "no-such-job")
    assert done.returncode == 2
    assert "no job 'no-such-job'" in done.stderr
