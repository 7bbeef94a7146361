"""Commands that only read jobs start without the request schema (pydantic): `status --wait` is
run beside every rollout, and its start-up counts."""

from __future__ import annotations

import subprocess
import sys

LOADED_PYDANTIC = "print(sorted(name for name in sys.modules if name.startswith('pydantic')))"


def test_job_commands_do_not_load_pydantic() -> None:
    code = f"import sys, trunkctl.cli, trunkctl.job_commands, trunkctl.context; {LOADED_PYDANTIC}"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
