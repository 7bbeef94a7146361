"""The status page in headless Chromium: sign in with the token, an upload refused with its
error, an upload queued, its progress to the end, its failures, and a retry that mends them.
Screenshots of the way go to a temporary folder, or to docs/screenshots/ with
TRUNKCTL_SCREENSHOTS=1 (to refresh the ones the docs show)."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from pbxsim import SimSettings, SimulatorThread
from pbxsim.inventory import write_inventory
from tests.api.conftest import TOKEN
from tests.api.server_process import ServeProcess
from tests.e2e import Rollout, fleet_rows, write_trunks_csv

pytestmark = pytest.mark.e2e
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
DOCS_SCREENSHOTS = Path(__file__).parents[2] / "docs" / "screenshots"
UNTIL_S = 60_000  # ms: a job's end, with slow simulated PBXs


@pytest.fixture
def slow_sim() -> Iterator[SimulatorThread]:
    """Four PBXs that take 250 ms an answer: a rollout lasts long enough to be watched."""
    with SimulatorThread(SimSettings(pbx_count=4, latency_ms=250)) as simulator:
        yield simulator


@pytest.fixture
def page() -> Iterator[Page]:
    """A laptop-sized page in Debian's headless Chromium; the test fails on any script error or
    console error (a resource the page's policy refused, say)."""
    if shutil.which(CHROMIUM) is None:
        pytest.skip(f"no Chromium at {CHROMIUM} (apt install chromium)")
    errors: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1440, "height": 900})
        opened = context.new_page()
        opened.on("pageerror", lambda error: errors.append(str(error)))
        opened.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        yield opened
        context.close()
        browser.close()
    # The refused upload is the one error expected: Chromium logs each answer of 4xx as one.
    assert [error for error in errors if "status of 422" not in error] == []


def _files(sim: SimulatorThread, tmp_path: Path) -> dict[str, Path]:
    aliases = sim.aliases()
    rows = fleet_rows(aliases, per_pbx=4)
    bad_rows = [*rows[:1], (aliases[0], dict(rows[1][1], password="short")), *rows[2:]]
    good = sim.inventory_rows()
    wrong = [dict(r, client_secret="typo") if r["pbx"] == aliases[2] else r for r in good]
    write_inventory(wrong, tmp_path / "pbxs-acme.csv")
    (tmp_path / "fixed").mkdir()
    write_inventory(good, tmp_path / "fixed" / "pbxs-fixed.csv")
    return {
        "bad": write_trunks_csv(tmp_path / "acme-draft.csv", bad_rows),
        "good": write_trunks_csv(tmp_path / "acme-november.csv", rows),
        "pbxs": tmp_path / "pbxs-acme.csv",
        "fixed": tmp_path / "fixed" / "pbxs-fixed.csv",
    }


def _upload(page: Page, trunks: Path, pbxs: Path, label: str) -> None:
    page.set_input_files("#trunks-input", [str(trunks)])
    page.set_input_files("#pbxs-input", [str(pbxs)])
    page.fill("#label-input", label)
    page.click("#upload-button")


def test_a_rollout_from_the_status_page(
    page: Page, server: ServeProcess, rollout: Rollout, slow_sim: SimulatorThread, tmp_path: Path
) -> None:
    files = _files(slow_sim, tmp_path)
    shots = DOCS_SCREENSHOTS if os.environ.get("TRUNKCTL_SCREENSHOTS") == "1" else tmp_path
    rollout.start_workers(1)
    earlier = rollout.submit(slow_sim, fleet_rows(slow_sim.aliases()[:2], per_pbx=1))
    rollout.wait_final(earlier.job_id or "")

    page.goto(server.url)
    expect(page.locator("#signin")).to_be_visible()
    page.screenshot(path=shots / "signin.png")
    page.fill("#token-input", TOKEN)
    page.click("#signin button[type=submit]")
    expect(page.locator("#jobs tbody tr")).to_have_count(1)

    _upload(page, files["bad"], files["pbxs"], "acme-draft")
    problems = page.locator("#upload-result .problems li")
    expect(problems).to_have_count(1)
    expect(problems.first).to_contain_text("acme-draft.csv:3: password:")
    expect(page.locator("#upload-result")).to_contain_text("15 valid, 1 invalid rows")
    page.screenshot(path=shots / "upload-refused.png")

    _upload(page, files["good"], files["pbxs"], "acme-november")
    expect(page.locator("#upload-result .message.good")).to_contain_text("16 trunks queued")
    expect(page.locator("#job-id")).to_have_text(re.compile(r"\d{8}-\d{6}-[0-9a-f]{4}"))
    expect(page.locator("#job-outcome")).to_have_text("in progress")
    expect(page.locator("#job-counts .state.succeeded")).to_be_visible(timeout=UNTIL_S)
    page.screenshot(path=shots / "running-job.png", full_page=True)

    expect(page.locator("#job-outcome")).to_have_text("partial", timeout=UNTIL_S)
    expect(page.locator("#failures tbody tr")).to_have_count(4)
    expect(page.locator("#failures tbody tr").first).to_contain_text(slow_sim.aliases()[2])
    expect(page.locator("#job-done")).to_have_text("16 of 16 final")
    page.screenshot(path=shots / "job-with-failures.png", full_page=True)

    page.set_input_files("#retry-pbxs", [str(files["fixed"])])
    page.click("#retry-button")
    expect(page.locator("#retry-result")).to_contain_text("Re-queued 4 failed items")
    expect(page.locator("#job-outcome")).to_have_text("success", timeout=UNTIL_S)
    expect(page.locator("#failures-none")).to_be_visible()
    expect(page.locator("#jobs tbody tr")).to_have_count(2)
    page.screenshot(path=shots / "jobs.png", full_page=True)
    assert len(slow_sim.trunks(slow_sim.aliases()[2])) == 4
