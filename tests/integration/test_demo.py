"""`trunkctl demo` on the embedded default: the whole story, and nothing left running."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from core.embedded_redis import EmbeddedRedis
from tests.worker_process import local_workers_of


def test_the_demo_rolls_out_retries_succeeds_and_stops_what_it_started(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "TRUNKCTL_REDIS_URL"}
    env["TRUNKCTL_DATA_DIR"] = str(tmp_path / "data")
    try:
        demo = subprocess.Popen(
            [sys.executable, "-m", "trunkctl", "demo"], env=env, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        out, err = demo.communicate(timeout=180)
        assert demo.returncode == 0, err
        assert EmbeddedRedis(tmp_path / "data").running() is None  # it started it: stopped
    finally:
        EmbeddedRedis(tmp_path / "data").stop()
    for step in ("1/3 rolling out", "2/3 the secret of demo-pbx-007 corrected", "3/3 stopping"):
        assert step in err
    first, second = out.split("job      ")[1:]
    assert "outcome  partial" in first
    assert "demo-pbx-007" in first
    assert "failed 12" in first
    assert "outcome  success" in second
    assert "not-the-secret" not in out + err
    assert local_workers_of(demo.pid) == []
