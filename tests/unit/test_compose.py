"""docker-compose.yml and the Dockerfile, checked by reading them (no Docker daemon here)."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest
import yaml

from core.settings import ENV_PREFIX, Settings
from trunkctl.cli import COMMANDS

ROOT = Path(__file__).resolve().parents[2]
IMAGE = "trunkctl:local"
# Variables the worker reads that are not settings people set (see worker.celery_app).
INTERNAL = {"TRUNKCTL_WORKER_PARENT_PID"}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return loaded


def _ours(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: s for name, s in compose["services"].items() if name != "redis"}


def test_one_image_built_once_from_the_dockerfile(compose: dict[str, Any]) -> None:
    services = _ours(compose)
    assert {service["image"] for service in services.values()} == {IMAGE}
    built = [name for name, service in services.items() if "build" in service]
    assert built == ["worker"]
    assert (ROOT / compose["services"]["worker"]["build"] / "Dockerfile").is_file()
    for name, service in services.items():
        if name != "worker":
            assert service["pull_policy"] == "never"  # never pulled: the worker's build has it


def test_every_command_is_a_trunkctl_command(compose: dict[str, Any]) -> None:
    for service in _ours(compose).values():
        command = service.get("entrypoint") or service["command"]
        assert command[0] == "trunkctl"
        if service.get("command"):
            assert service["command"][1] in COMMANDS
    assert "serve" in COMMANDS or "api" not in compose["services"]


def test_every_trunkctl_variable_is_a_setting(compose: dict[str, Any]) -> None:
    known = {ENV_PREFIX + field.name.upper() for field in fields(Settings)} | INTERNAL
    text = (ROOT / "docker-compose.yml").read_text()
    used = set(re.findall(r"\b(TRUNKCTL_[A-Z0-9_]+)\b", text))
    host_only = {"TRUNKCTL_REDIS_HOST_PORT", "TRUNKCTL_API_HOST_PORT"}  # compose's own
    assert used - host_only <= known, used - host_only - known


def test_redis_is_persistent_password_protected_and_published_on_loopback_only(
    compose: dict[str, Any],
) -> None:
    redis = compose["services"]["redis"]
    command = " ".join(redis["command"])
    assert "--requirepass ${REDIS_PASSWORD" in command
    assert "--appendonly yes" in command
    assert "--appendfsync everysec" in command
    for service in compose["services"].values():
        for port in service.get("ports", []):
            assert port.startswith("127.0.0.1:"), port
    assert "REDIS_PASSWORD" not in str(redis["healthcheck"])


def test_workers_get_time_for_a_warm_shutdown(compose: dict[str, Any]) -> None:
    grace = compose["services"]["worker"]["stop_grace_period"]
    assert int(grace.rstrip("s")) >= 45  # 30 s for runs in progress, a slot wait on top


def test_the_image_installs_from_the_lock_file_and_leaves_out_secrets() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "--require-hashes -r requirements/main.txt" in dockerfile
    packages = re.findall(r"^COPY (\w+) \1$", dockerfile, flags=re.MULTILINE)
    pyproject = (ROOT / "pyproject.toml").read_text()
    include = re.search(r"include = \[(.*)\]", pyproject)
    assert include is not None
    assert sorted(packages) == sorted(re.findall(r'"(\w+)\*"', include.group(1)))
    ignored = (ROOT / ".dockerignore").read_text().split()
    for path in (".venv", ".git", "data", "*.csv"):
        assert path in ignored
