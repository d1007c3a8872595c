"""The JupyterLab workspace on a team's PostgreSQL store: a `jupyter lab` of its own started with
PRODEX_STORE set to a database that asks for its password (as a JupyterHub would set it for
every member), in Chromium. A run started from the workspace executes in a worker, its gate is
confirmed with a click in the run panel, and the runs list shows the run, all read from and
written to the database; nothing lands in a `.prodex` folder.

The other browser tests run on the session's server with its SQLite store; what the workspace
does is the same on both (tests/test_server.py runs the REST API under it on both backends).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

import prodex_jupyter as px

from .jupyter_harness import start_jupyter_server
from .test_lab_extension import (
    EXPECT_MS,
    TEMPLATE,
    _expect,
    open_lab,
    open_run,
    run_record,
    start_run,
    wait_for_class,
    wait_until,
)

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def pg_lab(pg_server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple]:
    """A JupyterLab whose store is a PostgreSQL database; yields (server, store)."""
    url = pg_server.create_database(password=True)
    base = tmp_path_factory.mktemp("jupyter-pg")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("PRODEX_STORE", url)
        env.setenv("PRODEX_ARTIFACTS", str(base / "artifacts"))
        env.delenv("PRODEX_HOME", raising=False)
        server = start_jupyter_server(base)
    try:
        skip = shutil.ignore_patterns("__pycache__")
        shutil.copytree(REPO / "examples", server.root_dir / "demo", ignore=skip)
        yield server, px.RunStore(url, artifacts=base / "artifacts")
    finally:
        server.stop()


def test_the_workspace_lists_runs_and_confirms_gates_on_a_postgresql_store(
    browser_context, pg_lab
) -> None:
    server, store = pg_lab
    page = browser_context.new_page()
    try:
        run_id = start_run(server)  # a worker executes it, against the database
        assert TEMPLATE.startswith("demo/")
        open_lab(page, server)
        open_run(page, run_id)
        panel = page.locator(f"#prodex-run-{run_id}")
        prompt = panel.locator('.jp-prodex-prompt[data-gates="throughput_shape"]')
        _expect()(prompt).to_be_visible(timeout=EXPECT_MS)
        prompt.locator(".jp-prodex-confirm").click()
        wait_for_class(page, run_id, "throughput", "g-confirmed", timeout=EXPECT_MS / 1000)
        header = panel.locator(".jp-prodex-run-header .jp-prodex-gates-resolved")
        _expect()(header).to_have_text("Gates resolved: 1 / 3", timeout=EXPECT_MS)

        page.evaluate(
            "async () => { await window.jupyterapp.commands.execute('prodex:open-runs-list'); }"
        )
        row = page.locator(
            f'.jp-prodex-runs-list .jp-prodex-virtual .jp-prodex-run[data-prodex-run="{run_id}"]'
        )
        _expect()(row).to_be_visible(timeout=EXPECT_MS)
        _expect()(row).to_contain_text("1 / 3")
    finally:
        page.close()
        server.delete_all_sessions()

    assert store.run_ids() == [run_id]
    gate = store.state(run_id).gates["throughput_shape"]
    assert gate.status == "confirmed" and gate.last_decision is not None
    wait_until(lambda: not run_record(server, run_id)["executing"], what="the worker to leave")
    assert px.verify_run(store, run_id) == []
    assert not (server.root_dir / ".prodex").exists()
