"""`scripts/demo.sh` (the README's first command) opens JupyterLab on examples/ with the
Pipelines workspace showing and the example template in the editor, and prints the URL."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from .jupyter_harness import free_port, screenshot

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]


def test_demo_opens_lab_with_the_pipelines_workspace(browser_context, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    port = free_port()
    env = {
        **os.environ,
        "PRODEX_DEMO_PORT": str(port),
        "PRODEX_HOME": str(tmp_path / "store"),
        "JUPYTER_CONFIG_DIR": str(tmp_path / "config"),
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
        "JUPYTER_DATA_DIR": str(tmp_path / "data"),
    }
    log = tmp_path / "demo.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            ["bash", str(REPO / "scripts" / "demo.sh")],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    page = browser_context.new_page()
    try:
        url = None
        deadline = time.monotonic() + 300  # the first run installs the package
        while url is None and time.monotonic() < deadline:
            assert proc.poll() is None, log.read_text()[-3000:]
            found = re.search(r"open (http://127\.0\.0\.1:\d+/lab/workspaces/\S+)", log.read_text())
            url = found.group(1) if found else None
            time.sleep(0.5)
        assert url, log.read_text()[-3000:]
        for _ in range(120):  # the URL is printed just before the server starts
            try:
                page.goto(url, timeout=5000)
                break
            except Exception:
                time.sleep(0.5)
        panel = page.locator("#prodex-pipelines")
        expect(panel).to_be_visible(timeout=30_000)
        template = panel.locator(
            '.jp-prodex-template[data-prodex-template="plant_kpis.prodex.yaml"]'
        )
        expect(template).to_be_visible(timeout=15_000)
        expect(page.locator(".jp-prodex-run-pipeline")).to_be_visible()  # the YAML is open
        screenshot(page, "lab-demo")
    finally:
        page.close()
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
