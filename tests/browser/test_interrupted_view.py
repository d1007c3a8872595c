"""An interrupted run in a real JupyterLab: the run view says so and Resume continues the run in
the notebook's kernel; the runs list marks it and offers Resume too (issue 9 §4).

Run: .venv/bin/python -m pytest tests/browser/test_interrupted_view.py -m browser -s
Screenshots land in test-artifacts/browser/interrupted-*.png.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from ..test_resume import executor, prodex
from .jupyter_harness import (
    JupyterServer,
    new_notebook,
    open_notebook,
    run_all_and_wait,
    screenshot,
)

pytestmark = pytest.mark.browser

EXPECT_MS = 30_000


def _expect():
    from playwright.sync_api import expect

    return expect


def interrupted_run(tmp_path: Path) -> str:
    """A run whose process exited with its gate pending; the gate then confirmed from the
    command line, with nobody to pick the decision up: interrupted."""
    proc, run_id = executor(tmp_path, "exit", 2)
    assert proc.wait(timeout=60) == 0
    assert prodex(tmp_path, "confirm", run_id, "g").returncode == 0
    return run_id


def test_the_run_view_of_an_interrupted_run_offers_resume(
    page, jupyter_server: JupyterServer, tmp_path
):
    expect = _expect()
    run_id = interrupted_run(tmp_path)
    store = str(tmp_path / "store")
    cells = [f"import prodex_jupyter as px\nrun = px.load_run({run_id!r}, store={store!r})\nrun"]
    open_notebook(page, jupyter_server, new_notebook(jupyter_server, cells))
    run_all_and_wait(page)
    view = page.locator(".prodex-run-view").first
    bar = view.locator(".prodex-interrupted")
    expect(bar).to_be_visible(timeout=EXPECT_MS)
    expect(bar).to_contain_text("Interrupted: no process executes this run any more")
    screenshot(page, "interrupted-run-view")
    bar.locator(".prodex-resume").click()
    expect(view.locator(".prodex-status")).to_contain_text("completed", timeout=EXPECT_MS)
    expect(bar).to_be_hidden(timeout=EXPECT_MS)
    screenshot(page, "interrupted-run-view-resumed")


def test_the_runs_list_marks_an_interrupted_run_and_resumes_it(
    page, jupyter_server: JupyterServer, tmp_path
):
    expect = _expect()
    store = str(tmp_path / "store")
    cells = [f"import prodex_jupyter as px\npx.runs(store={store!r})"]
    with ThreadPoolExecutor(1) as pool:  # the run is made while the notebook's kernel starts
        made = pool.submit(interrupted_run, tmp_path)
        open_notebook(page, jupyter_server, new_notebook(jupyter_server, cells))
        made.result()
    run_all_and_wait(page)
    listed = page.locator(".prodex-runs-list").first
    expect(listed.locator(".prodex-chip-interrupted")).to_be_visible(timeout=EXPECT_MS)
    screenshot(page, "interrupted-runs-list")
    listed.locator(".prodex-runs-resume").click()
    detail = listed.locator(".prodex-runs-detail .prodex-run-view")
    expect(detail.locator(".prodex-status")).to_contain_text("completed", timeout=EXPECT_MS)
    screenshot(page, "interrupted-runs-list-resumed")
