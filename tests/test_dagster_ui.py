"""The Dagster UI as a person sees it: the webserver starts and the lineage page shows our assets.

Starts the real `dagster-webserver` on a free local port and drives Debian's Chromium with
Playwright (no browser download). `.ci/run` installs Chromium; on a machine without it the
test is skipped and says why. The screenshot is written next to the test's temp files;
set SEGMENTATION_UI_SCREENSHOT to also save it (e.g. docs/img/dagster-asset-lineage.png).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import CliRun

pytestmark = pytest.mark.slow

PROJECT_DIR = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# Flags that keep headless Chromium off the network on a machine without one.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]
STARTUP_SECONDS = 120


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"dagster-webserver exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(1)
    pytest.fail(f"dagster-webserver did not answer {url} within {STARTUP_SECONDS}s:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def webserver(cli_run: CliRun):
    """The UI on the Dagster instance a CLI run recorded itself in (tests/conftest.py)."""
    home = cli_run.dagster_home
    port = free_port()
    log = home / "webserver.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [str(Path(sys.executable).with_name("dagster-webserver")), "-m", "orchestration.definitions",
             "-h", "127.0.0.1", "-p", str(port)],
            cwd=PROJECT_DIR, env={**os.environ, "DAGSTER_HOME": str(home)}, stdout=out, stderr=subprocess.STDOUT,
        )
    try:
        wait_until_up(f"http://127.0.0.1:{port}/server_info", process, log)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium; .ci/run does)")
def test_lineage_page_shows_every_layer_of_assets(webserver: str, tmp_path: Path) -> None:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    screenshot = tmp_path / "dagster-asset-lineage.png"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            page.goto(f"{webserver}/asset-groups", timeout=60_000)
            # The first visit offers a newsletter dialog in front of the graph; later Dagster
            # versions may not, so a missing button is fine.
            with contextlib.suppress(PlaywrightTimeout):
                page.get_by_role("button", name="Skip").click(timeout=10_000)
            sidebar = page.locator("body")
            for group in ("raw", "staging", "intermediate", "marts", "publish"):
                sidebar.get_by_text(group, exact=True).first.wait_for(timeout=60_000)
            page.screenshot(path=str(screenshot))
        finally:
            browser.close()

    assert screenshot.stat().st_size > 10_000
    keep = os.environ.get("SEGMENTATION_UI_SCREENSHOT")
    if keep:
        Path(keep).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(screenshot, keep)


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium; .ci/run does)")
@pytest.mark.parametrize("asset", ["landing/order_lines", "marts/customer_profitability", "published_warehouse"])
def test_assets_a_cli_run_built_show_as_materialized_with_checks(webserver: str, asset: str) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            page.goto(f"{webserver}/assets/{asset}", timeout=60_000)
            status = page.get_by_text("Latest materialization").first
            status.wait_for(timeout=60_000)
            # "Latest materialization" is followed by how long ago, e.g. "5 minutes ago"; an
            # asset Dagster never saw materialized has no such time.
            page.get_by_text(re.compile(r"^(a few seconds|\d+ seconds|a minute|\d+ minutes|an hour|\d+ hours) ago$"))\
                .first.wait_for(timeout=30_000)
        finally:
            browser.close()
