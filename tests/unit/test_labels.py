"""Job labels: UTF-8, printable, at most 200 characters; the CLI refuses others as usage."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from jobs.labels import label_problem
from trunkctl.output import print_json


@pytest.mark.parametrize(
    ("label", "problem"),
    [
        ("acme-november", None),
        ("Café rollout", None),
        ("x" * 201, "is longer than 200 characters"),
        ("\x1b[31mred", "holds a control character"),
        ("csi\x9b2J", "holds a control character"),
        ("bad \udcff bytes", "is not UTF-8 text"),
    ],
)
def test_label_rules(label: str, problem: str | None) -> None:
    assert label_problem(label) == problem


def test_a_label_of_bytes_that_are_not_utf8_is_a_usage_error(tmp_path: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "TRUNKCTL_REDIS_URL"}
    done = subprocess.run(
        [sys.executable, "-m", "trunkctl", "submit", "t.csv", "--label", b"bad\xff".decode(
            "utf-8", "surrogateescape")],
        env=env, capture_output=True, text=True, timeout=60, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 2
    assert "--label" in done.stderr
    assert "is not UTF-8 text" in done.stderr
    assert "Traceback" not in done.stderr


def test_json_output_escapes_what_a_terminal_would_act_on(
    capsys: pytest.CaptureFixture[str],
) -> None:
    print_json({"column": "x\x7fy\x9b2Jz\u2028", "plain": "é"})
    out = capsys.readouterr().out
    assert out.isprintable() or set(out) - set(out.strip()) <= {"\n", " "}
    assert "\\u009b" in out
    assert json.loads(out) == {"column": "x\x7fy\x9b2Jz\u2028", "plain": "é"}
