"""What a user sees when the environment is wrong: one clear line and exit code 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import redis

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
            {"TRUNKCTL_REDIS_URL": "127.0.0.1:6379"}, ("jobs",),
            "TRUNKCTL_REDIS_URL is not a Redis URL", id="redis-url-without-scheme",
        ),
        pytest.param(
            {"TRUNKCTL_REDIS_URL": f"redis://:hunter2-pass@127.0.0.1:{free_port()}/1?bogus=1"},
            ("jobs",), "TRUNKCTL_REDIS_URL has an option Redis does not take",
            id="redis-url-unknown-option",
        ),
        pytest.param(
            {"TRUNKCTL_VISIBILITY_TIMEOUT_S": "soon"}, ("jobs",),
            "TRUNKCTL_VISIBILITY_TIMEOUT_S must be a whole number", id="bad-setting",
        ),
        pytest.param(
            {"TRUNKCTL_WORKER_CONCURRENCY": "0"}, ("jobs",),
            "TRUNKCTL_WORKER_CONCURRENCY must be more than 0, got '0'", id="setting-out-of-range",
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


@pytest.mark.parametrize(
    ("env", "message"),
    [
        pytest.param(
            {"TRUNKCTL_WORKER_CONCURRENCY": "abc"},
            "TRUNKCTL_WORKER_CONCURRENCY must be a whole number, got 'abc'", id="bad-setting",
        ),
        pytest.param(
            {"TRUNKCTL_REDIS_URL": "redis://:hunter2-pass@127.0.0.1:1/1?bogus=1"},
            "TRUNKCTL_REDIS_URL cannot be used: ", id="redis-url-unknown-option",
        ),
    ],
)  # fmt: skip
@pytest.mark.parametrize("command", [["-m", "celery", "-A", "worker", "worker"]])
def test_a_worker_started_with_a_bad_environment_says_so_in_one_line(
    env: dict[str, str], message: str, command: list[str]
) -> None:
    done = subprocess.run(
        [sys.executable, *command], env={**os.environ, **env},
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.startswith(f"error: {message}")
    assert done.stderr.count("\n") == 1
    assert "hunter2-pass" not in done.stderr


def test_a_redis_that_refuses_a_command_is_one_line_and_exit_2(redis_url: str) -> None:
    # An ACL that lets the user connect, select its database and ping, and nothing else.
    admin = redis.Redis.from_url(redis_url)
    admin.acl_setuser(
        "pingonly", enabled=True, passwords=["+pingonly-pass"], commands=["+ping", "+select"]
    )
    try:
        url = redis_url.replace("redis://", "redis://pingonly:pingonly-pass@")
        done = run({"TRUNKCTL_REDIS_URL": url}, "jobs")
    finally:
        admin.acl_deluser("pingonly")
        admin.close()
    assert done.returncode == 2
    assert done.stderr.startswith("error: Redis at TRUNKCTL_REDIS_URL failed: ")
    assert "no permissions to run the" in done.stderr
    assert "Traceback" not in done.stderr
    assert "pingonly-pass" not in done.stderr + done.stdout


@pytest.mark.parametrize("command", ["status", "report", "retry"])
def test_an_unknown_job_is_exit_2(redis_url: str, command: str) -> None:
    done = run({"TRUNKCTL_REDIS_URL": redis_url}, command, "no-such-job")
    assert done.returncode == 2
    assert "no job 'no-such-job'" in done.stderr


def test_submit_prints_the_job_id_alone_on_stdout(redis_url: str, tmp_path: Path) -> None:
    # JOB=$(trunkctl submit ... --skip-invalid): the rejected rows' problems go to stderr.
    examples = Path(__file__).resolve().parents[2] / "examples"
    trunks = tmp_path / "trunks.csv"
    lines = (examples / "trunks.csv").read_text(encoding="utf-8").splitlines()
    trunks.write_text("\n".join([*lines, lines[1]]) + "\n", encoding="utf-8")  # a repeated name
    env = {"TRUNKCTL_REDIS_URL": redis_url}
    pbxs = str(examples / "pbxs.csv")
    done = run(env, "submit", str(trunks), "--pbxs", pbxs, "--skip-invalid")
    assert done.returncode == 0, done.stderr
    [job_id] = done.stdout.splitlines()
    assert f"trunks.csv:{len(lines) + 1}: name:" in done.stderr
    status = run(env, "status", job_id, "--json")
    assert json.loads(status.stdout)["counts"]["rejected"] == 1
    # Nowhere to write the report: one line, exit 2.
    missing = tmp_path / "no-such-dir" / "report.csv"
    written = run(env, "report", job_id, "-o", str(missing))
    assert (written.returncode, written.stdout) == (2, "")
    assert written.stderr == f"error: {missing}: No such file or directory\n"


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (
            "colour",
            "the inventory or a file as a whole is wrong (--skip-invalid skips rows, not files)",
        ),
        ("pbx", "no row is valid"),
    ],
    ids=["bad-header", "no-valid-row"],
)
def test_a_refused_skip_invalid_submit_says_why(
    redis_url: str, tmp_path: Path, header: str, reason: str
) -> None:
    examples = Path(__file__).resolve().parents[2] / "examples"
    trunks = tmp_path / "trunks.csv"
    trunks.write_text(f"{header},name\nacme-hq,bad name\n", encoding="utf-8")
    done = run(
        {"TRUNKCTL_REDIS_URL": redis_url}, "submit", str(trunks), "--pbxs",
        str(examples / "pbxs.csv"), "--skip-invalid",
    )  # fmt: skip
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr.endswith(f"nothing queued: {reason}\n")


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (("status", "some-job", "--wait", "--timeout", "-5"), "--timeout"),
        (("jobs", "--limit", "0"), "--limit"),
    ],
)
def test_out_of_range_options_are_usage_errors(
    redis_url: str, args: tuple[str, ...], option: str
) -> None:
    done = run({"TRUNKCTL_REDIS_URL": redis_url}, *args)
    assert done.returncode == 2
    assert f"Invalid value for '{option}'" in done.stderr
