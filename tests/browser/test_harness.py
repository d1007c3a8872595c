"""Prove the browser harness and the widget stack in a real JupyterLab (and once in Notebook 7).

Run: /work/main/.venv/bin/python -m pytest tests/browser -m browser -s
(-s shows the printed first-paint figure; it is also saved in test-artifacts/browser/.)
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

from .jupyter_harness import (
    ARTIFACTS_DIR,
    HarnessError,
    cell_output_text,
    click_cytoscape_node,
    measure_run_all_to_paint,
    new_notebook,
    open_in_notebook7,
    open_notebook,
    run_all,
    run_all_and_wait,
    screenshot,
    wait_for_cytoscape,
    wait_for_idle,
)

pytestmark = pytest.mark.browser

# Assertions on page text: Playwright's expect() retries until its timeout.
EXPECT_TIMEOUT_MS = 15_000

KERNEL_CELL = "import sys\nprint(sys.executable)\nprint(sys.prefix)"

BUTTON_CELL = """\
import ipywidgets as w
label = w.Label("not clicked")
label.add_class("t-label")
button = w.Button(description="Press me")
button.add_class("t-button")
def on_click(_):
    label.value = "clicked from Python"
button.on_click(on_click)
w.VBox([button, label])"""

# The non-blocking pause: a task awaits a Future that a Button resolves; the cell returns at
# once and later cells run while the task waits.
PAUSE_CELLS = [
    """\
import asyncio
decision = asyncio.get_event_loop().create_future()
confirm = w.Button(description="Confirm")
confirm.add_class("t-confirm")
def on_confirm(_):
    if not decision.done():
        decision.set_result("confirmed")
confirm.on_click(on_confirm)
task_label = w.Label("task: waiting")
task_label.add_class("t-task")
async def wait_for_person():
    value = await decision
    task_label.value = "task: resumed with " + value
task = asyncio.ensure_future(wait_for_person())
w.VBox([confirm, task_label])""",
    """\
later = w.Label("later cell ran; task done=" + str(task.done()))
later.add_class("t-later")
later""",
]

GRAPH_CELL = """\
import ipycytoscape
import ipywidgets as w
graph = ipycytoscape.CytoscapeWidget()
graph.graph.add_graph_from_json({
    "nodes": [{"data": {"id": n, "label": n.upper()}} for n in ("a", "b", "c", "d")],
    "edges": [{"data": {"source": s, "target": t}}
              for s, t in (("a", "b"), ("a", "c"), ("b", "d"), ("c", "d"))],
})
graph.set_layout(name="dagre")
graph.add_class("t-graph")
clicked = w.Label("no node clicked")
clicked.add_class("t-clicked")
def on_node_click(event):
    clicked.value = "clicked node " + event["data"]["id"]
graph.on("node", "click", on_node_click)
w.VBox([graph, clicked])"""

BIG_GRAPH_CELL = """\
import time
_t0 = time.perf_counter()
import random
import ipycytoscape
_t1 = time.perf_counter()
rng = random.Random(7)
ids = [f"n{i}" for i in range(200)]
edges = [(ids[rng.randrange(i)], ids[i]) for i in range(1, 200)]
while len(edges) < 250:
    a, b = sorted(rng.sample(range(200), 2))
    if (ids[a], ids[b]) not in edges:
        edges.append((ids[a], ids[b]))
big = ipycytoscape.CytoscapeWidget()
big.graph.add_graph_from_json({
    "nodes": [{"data": {"id": i, "label": i}} for i in ids],
    "edges": [{"data": {"source": s, "target": t}} for s, t in edges],
})
big.set_layout(name="dagre")
big.add_class("t-big")
display(big)
print(f"kernel: import {_t1 - _t0:.3f}s, build {time.perf_counter() - _t1:.3f}s")"""


def _expect():
    from playwright.sync_api import expect

    return expect


def test_button_click_runs_python_and_pause_does_not_block(page, jupyter_server):
    nb = new_notebook(jupyter_server, [KERNEL_CELL, BUTTON_CELL, *PAUSE_CELLS])
    open_notebook(page, jupyter_server, nb)
    run_all_and_wait(page)
    expect = _expect()

    # The kernel is this venv's python.
    out = cell_output_text(page, 0).splitlines()
    assert out[1] == sys.prefix, f"kernel runs under {out}, expected prefix {sys.prefix}"
    assert Path(out[0]).parent == Path(sys.executable).parent, out

    # A Button's on_click runs in Python and the Label's new value reaches the page.
    expect(page.locator(".t-label")).to_have_text("not clicked", timeout=EXPECT_TIMEOUT_MS)
    page.locator(".t-button").click()
    expect(page.locator(".t-label")).to_have_text("clicked from Python", timeout=EXPECT_TIMEOUT_MS)

    # All cells finished (wait_for_idle returned) while the task still waits on its Future.
    expect(page.locator(".t-later")).to_have_text(
        "later cell ran; task done=False", timeout=EXPECT_TIMEOUT_MS
    )
    expect(page.locator(".t-task")).to_have_text("task: waiting", timeout=EXPECT_TIMEOUT_MS)
    page.locator(".t-confirm").click()
    expect(page.locator(".t-task")).to_have_text(
        "task: resumed with confirmed", timeout=EXPECT_TIMEOUT_MS
    )
    screenshot(page, "harness-button-and-pause")


# A tall output after the graph: once the test scrolls down to it, the graph is out of view
# and click_cytoscape_node has to scroll it back in.
SPACER_CELL = """\
import ipywidgets as w
w.HTML('<div style="height: 1600px">spacer</div>')"""


def test_cytoscape_canvas_and_node_click_reach_python(page, jupyter_server):
    nb = new_notebook(jupyter_server, [GRAPH_CELL, SPACER_CELL])
    open_notebook(page, jupyter_server, nb)
    run_all_and_wait(page)
    expect = _expect()

    state = wait_for_cytoscape(page, selector=".t-graph", min_nodes=4, min_edges=4)
    assert (state["nodes"], state["edges"]) == (4, 4), state
    assert page.locator(".t-graph canvas").count() >= 1

    # Scroll the graph out of view, as a reader would. Keep the mouse in the notebook's left
    # gutter: a wheel over the cytoscape canvas zooms the graph instead of scrolling the page.
    box = page.locator(".jp-Notebook").bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + 15, box["y"] + box["height"] / 2)
    page.mouse.wheel(0, 4000)
    expect(page.locator(".t-graph")).not_to_be_in_viewport(timeout=EXPECT_TIMEOUT_MS)

    for node in ("d", "a"):
        click_cytoscape_node(page, node, selector=".t-graph")
        expect(page.locator(".t-clicked")).to_have_text(
            f"clicked node {node}", timeout=EXPECT_TIMEOUT_MS
        )
    screenshot(page, "harness-cytoscape-click")


def test_first_paint_of_200_node_dagre_graph(page, jupyter_server, capsys):
    nb = new_notebook(jupyter_server, [BIG_GRAPH_CELL])
    open_notebook(page, jupyter_server, nb)
    timing = measure_run_all_to_paint(page, min_nodes=200, selector=".t-big")
    wait_for_idle(page)
    state = wait_for_cytoscape(page, selector=".t-big", min_nodes=200, min_edges=250)
    assert (state["nodes"], state["edges"]) == (200, 250), state
    screenshot(page, "harness-200-node-dagre")

    found = re.search(r"kernel: import \S+, build \S+", cell_output_text(page, 0))
    kernel = found.group(0) if found else "kernel: ?"
    line = (
        f"first paint, 200-node/250-edge dagre graph: Run All -> painted canvas "
        f"{timing['paint']:.3f}s (widget in page {timing['widget']}s, 200 nodes in cytoscape "
        f"{timing['nodes']}s; {kernel})"
    )
    timing["kernel"] = kernel
    ARTIFACTS_DIR.mkdir(parents=True, exist_ok=True)
    with open(ARTIFACTS_DIR / "first-paint.jsonl", "a") as fh:
        fh.write(json.dumps(timing) + "\n")
    with capsys.disabled():
        print("\n" + line)


def test_notebook7_button_and_cytoscape_click(page, jupyter_server):
    nb = new_notebook(jupyter_server, [BUTTON_CELL, GRAPH_CELL])
    open_in_notebook7(page, jupyter_server, nb)
    assert "/notebooks/" in page.url, page.url
    run_all_and_wait(page)
    expect = _expect()

    page.locator(".t-button").click()
    expect(page.locator(".t-label")).to_have_text("clicked from Python", timeout=EXPECT_TIMEOUT_MS)
    wait_for_cytoscape(page, selector=".t-graph", min_nodes=4)
    click_cytoscape_node(page, "c", selector=".t-graph")
    expect(page.locator(".t-clicked")).to_have_text("clicked node c", timeout=EXPECT_TIMEOUT_MS)
    screenshot(page, "harness-notebook7")


def test_cell_error_is_reported_with_traceback(page, jupyter_server):
    nb = new_notebook(jupyter_server, ["x = 1", "raise ValueError('boom from cell')", "y = 2"])
    open_notebook(page, jupyter_server, nb)
    run_all(page)
    with pytest.raises(HarnessError, match=r"ValueError: boom from cell"):
        wait_for_idle(page)


def test_clipped_node_is_refused_then_reached_by_panning(page, jupyter_server):
    # Measured here: a CytoscapeWidget whose layout.height is set below its default is laid out
    # (and fitted) before it shrinks, so the bottom node ends up outside the canvas.
    cell = GRAPH_CELL.replace(
        'graph.add_class("t-graph")', 'graph.layout.height = "240px"\ngraph.add_class("t-graph")'
    )
    nb = new_notebook(jupyter_server, [cell])
    open_notebook(page, jupyter_server, nb)
    run_all_and_wait(page)
    wait_for_cytoscape(page, selector=".t-graph", min_nodes=4)
    screenshot(page, "harness-clipped-graph")
    with pytest.raises(HarnessError, match="outside the widget's"):
        click_cytoscape_node(page, "d", selector=".t-graph", timeout=10)
    click_cytoscape_node(page, "d", selector=".t-graph", pan_into_view=True)
    _expect()(page.locator(".t-clicked")).to_have_text("clicked node d", timeout=EXPECT_TIMEOUT_MS)
