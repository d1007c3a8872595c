"""The JupyterLab extension (labextension/) in a real JupyterLab and Notebook 7, in Chromium.

Run: .venv/bin/python -m pytest tests/browser/test_lab_extension.py -m browser
Screenshots land in test-artifacts/browser/lab-*.png (light and dark).

The server is the session's `jupyter lab` with the prodex server extension; its run store is
`.prodex` under the server's root, where the example template is copied as `demo/`. Every
decision here is a click in the page, except the one that comes from `prodex confirm` in
another process to show that the open panel follows the record.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from .jupyter_harness import (
    VIEWPORT,
    JupyterServer,
    close_documents,
    cut_nodes,
    cytoscape_boxes,
    lab_is_running,
    open_in_running_lab,
    screenshot,
)

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = "demo/plant_kpis.prodex.yaml"
EXPECT_MS = 20_000  # a bound, not a latency: speed is measured in bench/lab_panel.py
SIDEBAR_TAB = '.jp-SideBar [data-id="prodex-pipelines"]'
FIRST_GATES = {"throughput_shape": "throughput", "recipes_shape": "recipes"}
SHORT_WINDOW = 520  # px high: the run panel's canvas about 340 px


def _expect():
    from playwright.sync_api import expect

    return expect


@pytest.fixture
def demo(jupyter_server: JupyterServer) -> Path:
    """The example template and data in the server's root (as `demo/`)."""
    target = jupyter_server.root_dir / "demo"
    if not target.exists():
        shutil.copytree(REPO / "examples", target, ignore=shutil.ignore_patterns("__pycache__"))
    return target


def open_lab(page, server: JupyterServer, path: str = "") -> None:
    """JupyterLab with nothing open but ``path`` (if given). A page that already runs this
    server's JupyterLab keeps it (its documents closed); otherwise a workspace of its own."""
    if lab_is_running(page, server):
        if path:
            open_in_running_lab(page, path)
        else:
            close_documents(page)
    else:
        tree = f"/tree/{path}" if path else ""
        page.goto(f"{server.url}/lab/workspaces/t{uuid.uuid4().hex[:8]}{tree}?reset")
    page.wait_for_selector(SIDEBAR_TAB, timeout=EXPECT_MS)


def show_workspace(page) -> None:
    if not page.locator("#prodex-pipelines").is_visible():
        page.click(SIDEBAR_TAB)
    _expect()(page.locator("#prodex-pipelines")).to_be_visible()


def start_run(server: JupyterServer) -> str:
    return server.api("POST", "/prodex/api/runs", {"template": TEMPLATE})["run_id"]


def open_run(page, run_id: str, gate_id: str | None = None) -> None:
    args = {"runId": run_id, **({"gateId": gate_id} if gate_id else {})}
    page.evaluate(
        # awaited, but not returned: the widget it resolves to would be serialized back to Python
        "async (args) => { await window.jupyterapp.commands.execute('prodex:open-run', args); }",
        args,
    )
    _expect()(page.locator(f"#prodex-run-{run_id} .jp-prodex-gates-resolved")).to_be_visible(
        timeout=EXPECT_MS
    )


def node_classes(page, run_id: str, node_id: str) -> list[str]:
    """The classes of a node on the run panel's cytoscape canvas."""
    return page.evaluate(
        """([runId, nodeId]) => {
          const host = document.querySelector(`#prodex-run-${runId} .jp-prodex-cy`);
          if (!host || !host._cyreg) return null;
          const node = host._cyreg.cy.getElementById(nodeId);
          return node.empty() ? null : node.classes();
        }""",
        [run_id, node_id],
    )


def wait_for_class(
    page, run_id: str, node_id: str, cls: str, timeout: float = EXPECT_MS / 1000
) -> float:
    """Seconds until the node carries `cls`; fails after `timeout`."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if cls in (node_classes(page, run_id, node_id) or []):
            return time.monotonic() - start
        page.wait_for_timeout(50)
    raise AssertionError(
        f"node {node_id} of run {run_id} never got {cls!r}: {node_classes(page, run_id, node_id)}"
    )


def click_node(page, run_id: str, node_id: str) -> None:
    """Click a canvas node with the real mouse, after panning it into the middle of the view."""
    point = page.evaluate(
        """([runId, nodeId]) => {
          const host = document.querySelector(`#prodex-run-${runId} .jp-prodex-cy`);
          const cy = host._cyreg.cy;
          const node = cy.getElementById(nodeId);
          cy.center(node);
          const box = host.getBoundingClientRect();
          const p = node.renderedPosition();
          return {x: box.left + p.x, y: box.top + p.y};
        }""",
        [run_id, node_id],
    )
    page.mouse.click(point["x"], point["y"])


def confirm_by_api(server: JupyterServer, run_id: str, gate_id: str) -> None:
    """Confirm once the run's worker has posed the gate."""
    wait_until(
        lambda: any(
            g["gate_id"] == gate_id and g["status"] == "pending"
            for g in run_record(server, run_id)["gates"]
        ),
        what=f"gate {gate_id} of {run_id} to be posed",
    )
    server.api(
        "POST", f"/prodex/api/runs/{run_id}/gates/{gate_id}", {"decision": "confirm", "note": "ok"}
    )


def run_record(server: JupyterServer, run_id: str) -> dict:
    return server.api("GET", f"/prodex/api/runs/{run_id}")


def wait_until(predicate, timeout: float = 20.0, what: str = "condition"):
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


def set_theme(page, dark: bool) -> None:
    theme = "JupyterLab Dark" if dark else "JupyterLab Light"
    page.evaluate(
        "(theme) => window.jupyterapp.commands.execute('apputils:change-theme', {theme})", theme
    )
    page.wait_for_function(
        "(dark) => document.body.dataset.jpThemeLight === (dark ? 'false' : 'true')", arg=dark
    )


# ---------------------------------------------------------------------------------------------


def test_extension_is_listed_and_enabled(page, jupyter_server: JupyterServer) -> None:
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(jupyter_server.base_dir / "config"),
        "PYTHONPATH": str(REPO),
        "NO_COLOR": "1",
    }
    bindir = Path(sys.executable).parent
    # Both listings start at once and run while the page checks the plugins (each is seconds
    # of imports).
    labext, server_ext = (
        subprocess.Popen(
            [bindir / "jupyter", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        for args in (["labextension", "list"], ["server", "extension", "list"])
    )
    open_lab(page, jupyter_server)
    plugins = page.evaluate(
        "() => ['prodex-jupyter:sidebar', 'prodex-jupyter:run-panel',"
        " 'prodex-jupyter:run-pipeline', 'prodex-jupyter:runs-list',"
        " 'prodex-jupyter:file-type'].filter(p => window.jupyterapp.hasPlugin(p)"
        " && window.jupyterapp.isPluginActivated(p))"
    )
    assert len(plugins) == 5, plugins

    listing = labext.communicate(timeout=120)[0]
    assert "prodex-jupyter v0.1.0" in listing
    line = next(x for x in listing.splitlines() if "prodex-jupyter" in x)
    assert "enabled" in line and "OK" in line, line
    text = re.sub(r"\x1b\[[0-9;]*m", "", server_ext.communicate(timeout=120)[0])
    assert re.search(r"prodex_jupyter\s+enabled", text), text
    assert re.search(r"prodex_jupyter \S+ OK", text), text


def test_sidebar_shows_the_example_template(page, jupyter_server: JupyterServer, demo) -> None:
    open_lab(page, jupyter_server)
    show_workspace(page)
    template = page.locator(f'.jp-prodex-template[data-prodex-template="{TEMPLATE}"]')
    _expect()(template).to_be_visible(timeout=EXPECT_MS)
    _expect()(template.locator(".jp-prodex-template-name")).to_have_text("plant_kpis")
    _expect()(template.locator(".jp-prodex-template-desc")).to_contain_text("Weekly plant KPIs")
    _expect()(template.locator(".jp-prodex-template-counts")).to_contain_text("7 nodes · 3 gates")
    # A run started elsewhere shows under its template (how soon: bench/lab_panel.py).
    run_id = start_run(jupyter_server)
    _expect()(template.locator(f'.jp-prodex-run[data-prodex-run="{run_id}"]')).to_be_visible(
        timeout=EXPECT_MS
    )
    row = template.locator(f'.jp-prodex-run[data-prodex-run="{run_id}"]')
    _expect()(row.locator(".jp-prodex-gates-resolved")).to_have_text("Gates resolved: 0 / 3")
    screenshot(page, "lab-sidebar-light")


def test_run_pipeline_from_the_open_yaml_then_confirm_in_the_panel(
    page, jupyter_server: JupyterServer, demo
) -> None:
    open_lab(page, jupyter_server, TEMPLATE)
    button = page.locator(".jp-prodex-run-pipeline")
    _expect()(button).to_be_visible(timeout=EXPECT_MS)
    button.click()
    panel = page.locator(".jp-prodex-run-panel:visible")
    _expect()(panel.locator(".jp-prodex-prompt").first).to_be_visible(timeout=EXPECT_MS)
    run_id = panel.locator(".jp-prodex-run-header .jp-prodex-run-id").inner_text()
    header = panel.locator(".jp-prodex-run-header .jp-prodex-gates-resolved")
    _expect()(header).to_have_text("Gates resolved: 0 / 3")
    prompt = panel.locator('.jp-prodex-prompt[data-gates="throughput_shape"]')
    _expect()(prompt).to_contain_text("Throughput extract shape")
    _expect()(prompt).to_contain_text("Confidence: high")
    assert "g-pending" in node_classes(page, run_id, "throughput")
    screenshot(page, "lab-run-panel-light")

    prompt.locator(".jp-prodex-confirm").click()
    # how soon the checkmark and the header follow: bench/lab_panel.py
    wait_for_class(page, run_id, "throughput", "g-confirmed")
    _expect()(header).to_have_text("Gates resolved: 1 / 3", timeout=EXPECT_MS)
    decided = panel.locator('.jp-prodex-decided[data-gates="throughput_shape"]')
    _expect()(decided).to_contain_text("Confirmed")
    _expect()(decided.locator(".jp-prodex-reopen")).to_be_visible()
    record = run_record(jupyter_server, run_id)
    gate = next(g for g in record["gates"] if g["gate_id"] == "throughput_shape")
    assert gate["status"] == "confirmed"


def test_reject_needs_a_reason_and_reconfirm(page, jupyter_server: JupyterServer, demo) -> None:
    run_id = start_run(jupyter_server)
    open_lab(page, jupyter_server)
    open_run(page, run_id)
    panel = page.locator(f"#prodex-run-{run_id}")
    prompt = panel.locator('.jp-prodex-prompt[data-gates="recipes_shape"]')
    _expect()(prompt).to_be_visible(timeout=EXPECT_MS)
    prompt.locator(".jp-prodex-reject").click()
    prompt.locator(".jp-prodex-note-submit").click()
    _expect()(prompt.locator(".jp-prodex-note-error")).to_have_text(
        "A reason is required to reject a gate."
    )
    time.sleep(1.5)  # the panel keeps polling: the open form must survive a refresh
    prompt.locator(".jp-prodex-note-text").fill("recipe R07 missing from the master list")
    prompt.locator(".jp-prodex-note-submit").click()
    wait_for_class(page, run_id, "recipes", "g-rejected")
    decided = panel.locator('.jp-prodex-decided[data-gates="recipes_shape"]')
    _expect()(decided).to_contain_text("recipe R07 missing")
    # Re-confirming overrides the rejection: a note is required there too.
    decided.locator(".jp-prodex-reconfirm").click()
    decided.locator(".jp-prodex-note-submit").click()
    _expect()(decided.locator(".jp-prodex-note-error")).to_have_text(
        "A note is required to override a rejection."
    )
    decided.locator(".jp-prodex-note-text").fill("R07 added to the master list")
    decided.locator(".jp-prodex-note-submit").click()
    wait_for_class(page, run_id, "recipes", "g-confirmed")
    gate = next(
        g for g in run_record(jupyter_server, run_id)["gates"] if g["gate_id"] == "recipes_shape"
    )
    assert [d["decision"] for d in gate["decisions"]] == ["rejected", "confirmed"]
    assert [d["note"] for d in gate["decisions"]] == [
        "recipe R07 missing from the master list",
        "R07 added to the master list",
    ]


def test_decision_from_the_command_line_reaches_the_open_panel(
    page, jupyter_server: JupyterServer, demo
) -> None:
    run_id = start_run(jupyter_server)
    open_lab(page, jupyter_server)
    open_run(page, run_id)
    wait_for_class(page, run_id, "throughput", "g-pending")
    store = jupyter_server.root_dir / ".prodex"
    prodex = Path(sys.executable).parent / "prodex"
    done = subprocess.run(
        [prodex, "--store", store, "confirm", run_id, "throughput_shape", "--note", "from CLI"],
        capture_output=True,
        text=True,
        cwd=jupyter_server.root_dir,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    # the open panel follows the record (how soon: bench/lab_panel.py)
    wait_for_class(page, run_id, "throughput", "g-confirmed")
    header = page.locator(f"#prodex-run-{run_id} .jp-prodex-run-header .jp-prodex-gates-resolved")
    _expect()(header).to_have_text("Gates resolved: 1 / 3", timeout=EXPECT_MS)
    _expect()(
        page.locator(f'#prodex-run-{run_id} .jp-prodex-decided[data-gates="throughput_shape"]')
    ).to_contain_text("from CLI")


def test_drawer_shows_the_sql_and_source_hashes(page, jupyter_server: JupyterServer, demo) -> None:
    run_id = start_run(jupyter_server)
    for gate_id in FIRST_GATES:
        confirm_by_api(jupyter_server, run_id, gate_id)
    wait_until(
        lambda: any(
            g["gate_id"] == "station_means_sanity" and g["status"] == "pending"
            for g in run_record(jupyter_server, run_id)["gates"]
        ),
        what="the third gate to be posed",
    )
    confirm_by_api(jupyter_server, run_id, "station_means_sanity")
    wait_until(
        lambda: run_record(jupyter_server, run_id)["status"] == "completed",
        what="the run to complete",
    )
    open_lab(page, jupyter_server)
    open_run(page, run_id)
    _expect()(
        page.locator(f"#prodex-run-{run_id} .jp-prodex-run-header .jp-prodex-gates-resolved")
    ).to_have_text("Gates resolved: 3 / 3")
    click_node(page, run_id, "plant_mean_cycle_time")
    drawer = page.locator(
        f'#prodex-run-{run_id} .jp-prodex-drawer[data-node="plant_mean_cycle_time"]'
    )
    _expect()(drawer).to_be_visible(timeout=EXPECT_MS)
    _expect()(drawer).to_contain_text("SELECT")
    digest = hashlib.sha256((demo / "data" / "weekly_throughput.csv").read_bytes()).hexdigest()
    _expect()(drawer).to_contain_text(digest[:10])
    assert "selected" in node_classes(page, run_id, "plant_mean_cycle_time")
    screenshot(page, "lab-drawer-light")
    set_theme(page, dark=True)
    try:
        page.wait_for_timeout(500)
        screenshot(page, "lab-drawer-dark")
        show_workspace(page)
        _expect()(page.locator(".jp-prodex-template").first).to_be_visible()
        _expect()(page.locator(".jp-prodex-run").first).to_be_visible()
        screenshot(page, "lab-sidebar-dark")
    finally:
        set_theme(page, dark=False)


def test_inbox_opens_each_gate_and_its_count_falls_to_zero(
    page, jupyter_server: JupyterServer, demo
) -> None:
    start_run(jupyter_server)
    open_lab(page, jupyter_server)
    show_workspace(page)
    count = page.locator(".jp-prodex-inbox-count")
    wait_until(lambda: int(count.inner_text()) >= 2, what="the inbox to count gates")

    def head() -> tuple[int, tuple[str, str] | None]:
        # the count and the first item, read in one step: the list can change between two
        # reads (a read of an item that has just gone waits 30 s for it)
        n, first = page.evaluate(
            """() => {
              const item = document.querySelector('.jp-prodex-inbox-item');
              const n = document.querySelector('.jp-prodex-inbox-count').textContent;
              return [Number(n), item && [item.dataset.prodexRun, item.dataset.prodexGate]];
            }"""
        )
        return n, tuple(first) if first else None

    def settled() -> tuple[int, tuple[str, str] | None] | None:
        n, first = head()
        return (n, first) if (n == 0) == (first is None) else None

    seen = []
    for _ in range(60):
        n, first = wait_until(settled, what="the inbox's count and first item to agree")
        if n == 0:
            break
        run_id, gate_id = first
        page.locator(
            f'.jp-prodex-inbox-item[data-prodex-run="{run_id}"][data-prodex-gate="{gate_id}"]'
        ).click()
        card = page.locator(f'#prodex-run-{run_id} .jp-prodex-prompt[data-gates~="{gate_id}"]')
        _expect()(card).to_have_class(re.compile("jp-prodex-focused"))
        card.locator(".jp-prodex-confirm").click()
        seen.append((run_id, gate_id))
        # the decided gate leaves the head of the list (the count can drop a poll before the
        # list does: the next turn would click the decided gate again)
        wait_until(lambda key=first: head()[1] != key, what="the inbox to move on")
    _expect()(count).to_have_text("0", timeout=EXPECT_MS)
    _expect()(page.locator(".jp-prodex-inbox .jp-prodex-empty")).to_be_visible()
    assert seen, "the inbox offered no gate"


def test_delete_asks_first(page, jupyter_server: JupyterServer, demo) -> None:
    run_id = start_run(jupyter_server)
    # a run its worker still executes is refused (409); this one pauses at its gates
    wait_until(
        lambda: not run_record(jupyter_server, run_id)["executing"], what="the worker to leave"
    )
    open_lab(page, jupyter_server)
    open_run(page, run_id)
    page.locator(".jp-prodex-delete-run:visible").click()
    dialog = page.locator(".jp-Dialog")
    _expect()(dialog).to_contain_text(f"Delete run {run_id}?")
    dialog.get_by_role("button", name="Cancel").click()
    _expect()(dialog).to_have_count(0)
    assert run_record(jupyter_server, run_id)["run_id"] == run_id  # still there
    page.locator(".jp-prodex-delete-run:visible").click()
    _expect()(page.locator(".jp-Dialog")).to_contain_text(f"Delete run {run_id}?")
    page.locator(".jp-Dialog").get_by_role("button", name="Delete").click()
    _expect()(page.locator(f"#prodex-run-{run_id}")).to_have_count(0, timeout=EXPECT_MS)
    with pytest.raises(Exception, match="404"):
        run_record(jupyter_server, run_id)


def test_runs_list_sorts_filters_and_compares(page, jupyter_server: JupyterServer, demo) -> None:
    runs = []
    for _ in range(2):
        run_id = start_run(jupyter_server)
        for gate_id in [*FIRST_GATES, "station_means_sanity"]:  # every output is produced
            confirm_by_api(jupyter_server, run_id, gate_id)
        runs.append(run_id)
    for run_id in runs:
        wait_until(lambda r=run_id: run_record(jupyter_server, r)["status"] == "completed")
    open_lab(page, jupyter_server)
    page.evaluate(
        "async () => { await window.jupyterapp.commands.execute('prodex:open-runs-list'); }"
    )
    rows = page.locator(".jp-prodex-runs-list .jp-prodex-virtual .jp-prodex-run")
    _expect()(rows.first).to_be_visible(timeout=EXPECT_MS)
    # Newest first by default; a click on "Started" sorts oldest first.
    first = rows.first.get_attribute("data-prodex-run")
    page.locator('.jp-prodex-runs-header [data-column="started"]').click()
    assert rows.first.get_attribute("data-prodex-run") != first
    page.locator(".jp-prodex-filter-text").fill(runs[0])
    _expect()(rows).to_have_count(1)
    page.locator(".jp-prodex-filter-text").fill("")
    for run_id in runs:
        page.locator(f'.jp-prodex-run[data-prodex-run="{run_id}"] input[type=checkbox]').check()
    page.locator("button.jp-prodex-compare").click()
    view = page.locator(".jp-prodex-compare-outputs")
    _expect()(view).to_be_visible(timeout=EXPECT_MS)
    _expect()(page.locator(".jp-prodex-pair-head").first).to_contain_text(f"{runs[0]} → {runs[1]}")
    # the trend line of the numeric output: one point per run compared
    mean = view.locator("tr", has_text="plant_mean_cycle_time")
    _expect()(mean.locator(".jp-prodex-trend svg.jp-prodex-sparkline circle")).to_have_count(2)
    screenshot(page, "lab-compare-light")


def test_open_in_notebook_loads_the_run(page, jupyter_server: JupyterServer, demo) -> None:
    run_id = start_run(jupyter_server)
    open_lab(page, jupyter_server)
    open_run(page, run_id)
    page.locator(".jp-prodex-open-in-notebook:visible").click()
    path = jupyter_server.root_dir / f"{run_id}.ipynb"

    def cells():
        try:
            return json.loads(path.read_text())["cells"]
        except (OSError, ValueError):  # not there yet, or being written
            return None

    cells = wait_until(cells, what=f"{path.name} to be written")
    source = "".join(cells[0]["source"])
    assert f'run = px.load_run("{run_id}")' in source
    _expect()(page.locator(".jp-NotebookPanel:visible")).to_be_visible(timeout=EXPECT_MS)


def test_run_panel_is_restored_on_reload(page, jupyter_server: JupyterServer, demo) -> None:
    run_id = start_run(jupyter_server)
    workspace = f"r{uuid.uuid4().hex[:8]}"
    page.goto(f"{jupyter_server.url}/lab/workspaces/{workspace}?reset")
    page.wait_for_selector(SIDEBAR_TAB, timeout=EXPECT_MS)

    def saved_with_the_panel(response) -> bool:
        """The workspace PUT (debounced after a layout change) that holds the open run panel."""
        request = response.request
        if request.method != "PUT" or f"/api/workspaces/{workspace}" not in response.url:
            return False
        data = json.loads(request.post_data or "{}").get("data", {})
        layout = json.dumps(data.get("layout-restorer:data", {}))
        tracked = any(
            k.startswith("prodex-run:") and run_id in k + json.dumps(v) for k, v in data.items()
        )
        return run_id in layout and tracked

    with page.expect_response(saved_with_the_panel, timeout=EXPECT_MS):
        open_run(page, run_id)
    page.goto(f"{jupyter_server.url}/lab/workspaces/{workspace}")
    _expect()(page.locator(f"#prodex-run-{run_id} .jp-prodex-gates-resolved")).to_be_visible(
        timeout=EXPECT_MS
    )


def test_notebook7_runs_a_pipeline_from_the_editor(
    page, jupyter_server: JupyterServer, demo
) -> None:
    page.goto(f"{jupyter_server.url}/edit/{TEMPLATE}")
    button = page.locator(".jp-prodex-run-pipeline")
    _expect()(button).to_be_visible(timeout=EXPECT_MS)
    button.click()
    panel = page.locator(".jp-prodex-run-panel")
    _expect()(panel.locator(".jp-prodex-prompt").first).to_be_visible(timeout=EXPECT_MS)
    _expect()(panel.locator(".jp-prodex-run-header .jp-prodex-gates-resolved")).to_have_text(
        "Gates resolved: 0 / 3"
    )
    run_id = panel.locator(".jp-prodex-run-header .jp-prodex-run-id").inner_text()
    assert node_classes(page, run_id, "throughput") is not None
    screenshot(page, "lab-notebook7-run-panel")


def test_an_interrupted_run_is_marked_and_resume_continues_it(
    page, jupyter_server: JupyterServer
) -> None:
    from tests.server_support import SLOW

    folder = jupyter_server.root_dir / "slowdemo"
    (folder / "data").mkdir(parents=True, exist_ok=True)
    (folder / "data" / "numbers.csv").write_text("n\n1\n2\n3\n4\n")
    hold = folder / "hold"
    hold.write_text("")
    (folder / "slow.prodex.yaml").write_text(SLOW.format(hold=str(hold)))
    run_id = jupyter_server.api(
        "POST", "/prodex/api/runs", {"template": "slowdemo/slow.prodex.yaml"}
    )["run_id"]
    confirm_by_api(jupyter_server, run_id, "numbers_ok")
    record = wait_until(
        lambda: (r := run_record(jupyter_server, run_id))["executing"] and r,
        what="a worker to execute the held node",
    )
    os.kill(record["executor"]["pid"], signal.SIGKILL)  # the worker dies mid-run
    seen: list[dict] = []
    try:
        wait_until(
            lambda: seen.append(run_record(jupyter_server, run_id)) or seen[-1]["interrupted"],
            what="interrupted",
        )
    except AssertionError:
        last = seen[-1]
        states = {n["node_id"]: n["state"] for n in last["nodes"]}
        raise AssertionError(
            f"not interrupted after killing {record['executor']}: executing={last['executing']} "
            f"executor={last['executor']} status={last['status']} nodes={states}"
        ) from None

    open_lab(page, jupyter_server)
    show_workspace(page)
    row = page.locator(f'.jp-prodex-run[data-prodex-run="{run_id}"]')
    _expect()(row.locator(".jp-prodex-status-interrupted")).to_have_text("interrupted")
    resume = row.locator(".jp-prodex-resume")
    _expect()(resume).to_be_visible()
    template = page.locator('.jp-prodex-template[data-prodex-template="slowdemo/slow.prodex.yaml"]')
    last_run = template.locator(".jp-prodex-last-run .jp-prodex-badge")
    _expect()(last_run).to_have_text("interrupted")  # the template's last run too
    screenshot(page, "lab-sidebar-interrupted")
    hold.unlink()
    resume.click()
    _expect()(row.locator(".jp-prodex-status-completed")).to_be_visible(timeout=EXPECT_MS)
    assert run_record(jupyter_server, run_id)["status"] == "completed"


def test_run_pipeline_from_the_sidebar_context_menu_and_the_launcher(
    page, jupyter_server: JupyterServer, demo
) -> None:
    open_lab(page, jupyter_server)
    show_workspace(page)
    template = page.locator(f'.jp-prodex-template[data-prodex-template="{TEMPLATE}"]')
    template.locator(".jp-prodex-template-desc").click(button="right")
    page.locator('.lm-Menu-item[data-command="prodex:run-pipeline"]').click()
    first = page.locator(".jp-prodex-run-panel:visible .jp-prodex-run-header .jp-prodex-run-id")
    _expect()(first).to_be_visible(timeout=EXPECT_MS)
    first_id = first.inner_text()

    page.evaluate("async () => { await window.jupyterapp.commands.execute('launcher:create'); }")
    card = page.locator(".jp-Launcher:visible .jp-LauncherCard", has_text="Run Pipeline")
    _expect()(card).to_be_visible(timeout=EXPECT_MS)
    card.click()
    dialog = page.locator(".jp-Dialog")  # no template open: it asks which one
    _expect()(dialog).to_contain_text("Run Pipeline")
    dialog.locator("select").select_option(TEMPLATE)
    dialog.get_by_role("button", name="Run").click()
    second = page.locator(".jp-prodex-run-panel:visible .jp-prodex-run-header .jp-prodex-run-id")
    _expect()(second).not_to_have_text(first_id, timeout=EXPECT_MS)
    ids = {r["run_id"] for r in jupyter_server.api("GET", "/prodex/api/runs?limit=5")["runs"]}
    assert {first_id, second.inner_text()} <= ids


def test_a_big_waiting_runs_panel_opens_on_its_first_prompts_gates(
    page, jupyter_server: JupyterServer
) -> None:
    """The panel opens where the view (`canvas_plan`, as the notebook's canvas) says: the first
    prompt's gates whole in the canvas, the graph's left and top edges at the canvas' (before,
    it centred the first gate in template order: 270 px of empty canvas at the left and, in a
    short window, the prompt's other gates above the canvas' top edge)."""
    from tests.test_widgets_support import generated

    folder = jupyter_server.root_dir / "gen200"
    folder.mkdir(exist_ok=True)
    generated(folder, 200).save(folder / "generated_200.prodex.yaml")
    run_id = jupyter_server.api(
        "POST", "/prodex/api/runs", {"template": "gen200/generated_200.prodex.yaml"}
    )["run_id"]
    record = wait_until(  # its worker ends once the run needs people
        lambda: (r := run_record(jupyter_server, run_id))["prompts"] and not r["executing"] and r,
        timeout=60,
        what="the run to wait at its gates",
    )
    node_of = {g["gate_id"]: g["node_id"] for g in record["gates"]}
    gates = [node_of[g] for g in record["prompts"][0]["gate_ids"]]
    assert len(gates) > 1, record["prompts"][0]
    opening = record["view"]["canvas"]["opening"]
    assert opening["fit"] is False, opening

    open_lab(page, jupyter_server)
    page.set_viewport_size({**VIEWPORT, "height": SHORT_WINDOW})  # a short window
    try:
        open_run(page, run_id)
        drawn = settled_canvas(page, f"#prodex-run-{run_id} .jp-prodex-cy")
        screenshot(page, "lab-run-panel-200-nodes")
    finally:
        page.set_viewport_size(VIEWPORT)
    assert len(drawn["boxes"]) == 200 and drawn["h"] < 400, drawn["h"]
    # every gate of the first prompt whole in the canvas (the graph is taller than the canvas:
    # other nodes are cut by its bottom edge), no node cut by its left edge, and no empty
    # canvas beyond the graph's left or top edge
    on_prompt = {**drawn, "boxes": [b for b in drawn["boxes"] if b["id"] in gates]}
    assert not cut_nodes(on_prompt, gates), (gates, on_prompt)
    assert not [b for b in drawn["boxes"] if b["x1"] < -0.5 < b["x2"]], drawn["pan"]
    assert 0 <= min(b["x1"] for b in drawn["boxes"]) <= 24, drawn["pan"]
    assert 0 <= min(b["y1"] for b in drawn["boxes"]) <= 24, drawn["pan"]
    # as served
    assert (drawn["zoom"], drawn["pan"]) == (opening["zoom"], opening["pan"]), drawn["pan"]


def settled_canvas(page, selector: str) -> dict:
    """`cytoscape_boxes` of the canvas once its viewport stayed put over two polls (until a
    person moves it, the canvas is placed again as it resizes)."""
    last = None
    for _ in range(100):
        drawn = cytoscape_boxes(page, selector)
        if drawn["attention"] and (drawn["pan"], drawn["zoom"]) == last:
            return drawn
        last = (drawn["pan"], drawn["zoom"])
        page.wait_for_timeout(150)
    raise AssertionError(f"the canvas {selector} never settled: {last}")
