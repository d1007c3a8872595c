"""The run view in a real JupyterLab (and once in Notebook 7), driven by Playwright in Chromium.

Run: /work/main/.venv/bin/python -m pytest tests/browser/test_run_view.py -m browser -s
Screenshots land in test-artifacts/browser/run-view-*.png.

Each test writes its own notebook (a fresh kernel), which imports prodex_jupyter from the repo
and keeps its run store in a fresh folder. The cells only start runs: every decision is a click
in the page, and everything after the first paint reaches the page while no cell runs.
"""

from __future__ import annotations

import json
import re

import pytest

from .jupyter_harness import (
    ARTIFACTS_DIR,
    click_cytoscape_node,
    cut_nodes,
    cytoscape_boxes,
    measure_run_all_to_paint,
    new_notebook,
    open_in_notebook7,
    open_notebook,
    run_all_and_wait,
    screenshot,
    wait_for_cytoscape,
    wait_for_idle,
)

pytestmark = pytest.mark.browser

EXPECT_MS = 20_000
CANVAS = ".prodex-canvas"


def _expect():
    from playwright.sync_api import expect

    return expect


def start_cell(demo: dict[str, str]) -> str:
    return (
        "import prodex_jupyter as px\n"
        f"tpl = px.load_template({demo['template']!r})\n"
        f"run = tpl.run(store={demo['store']!r})"
    )


# A later cell: it runs (and the kernel goes idle) while the run waits for a person.
LATER_CELL = "print('later cell ran while the run is', run.status)"

_JS_NODE_CLASSES = """
([selector, ids]) => {
  const el = document.querySelector(selector);
  const cy = el && el._cyreg && el._cyreg.cy;
  if (!cy) return null;
  const out = {};
  for (const id of ids) {
    const n = cy.getElementById(id);
    out[id] = n.empty() ? null : n.classes();
  }
  return out;
}
"""

# The node marked for attention closest to the canvas' vertical middle, where the view
# puts the gate that needs a person (unless that node is near the graph's edge).
_JS_FOCUSED = """
(selector) => {
  const el = document.querySelector(selector);
  const cy = el && el._cyreg && el._cyreg.cy;
  if (!cy) return null;
  const w = cy.width(), h = cy.height();
  let best = null;
  cy.nodes('.attention').forEach(n => {
    const p = n.renderedPosition();
    const d = Math.abs(p.y - h / 2);
    if (p.x >= 0 && p.x <= w && (!best || d < best.d)) {
      best = {id: n.id(), x: p.x, y: p.y, d, zoom: cy.zoom(),
              fontPx: parseFloat(n.style('font-size')) * cy.zoom()};
    }
  });
  return {w, h, best, attention: cy.nodes('.attention').map(n => n.id())};
}
"""


def _poll_zoom(page, ok, tries: int = 100) -> float:
    zoom = 0.0
    for _ in range(tries):
        zoom = page.evaluate("(sel) => document.querySelector(sel)._cyreg.cy.zoom()", CANVAS)
        if ok(zoom):
            return zoom
        page.wait_for_timeout(100)
    raise AssertionError(f"canvas zoom stayed at {zoom}")


def node_classes(page, *ids: str) -> dict[str, list[str]]:
    return page.evaluate(_JS_NODE_CLASSES, [CANVAS, list(ids)]) or {}


def wait_for_classes(page, node_id: str, wanted: set[str], absent: set[str] = frozenset()):
    """Poll the cytoscape instance in the page until a node's classes are updated."""
    deadline = 200
    classes: list[str] = []
    for _ in range(deadline):
        classes = node_classes(page, node_id).get(node_id) or []
        if wanted <= set(classes) and not (absent & set(classes)):
            return classes
        page.wait_for_timeout(100)
    raise AssertionError(f"node {node_id} classes {classes}, wanted {wanted} without {absent}")


def demo_run_on_screen(page, jupyter_server, demo, opener=open_notebook) -> None:
    """A notebook that starts the demo run, opened (in Lab, or Notebook 7), run, and painted."""
    nb = new_notebook(jupyter_server, [start_cell(demo)])
    opener(page, jupyter_server, nb)
    run_all_and_wait(page)
    wait_for_cytoscape(page, selector=CANVAS, min_nodes=7)


def card(page, gate_id: str):
    return page.locator(f".prodex-gate-card.prodex-prompt.prodex-gate-{gate_id}")


def gates_resolved(page):
    return page.locator(".prodex-gates-resolved .prodex-row")


def test_demo_run_confirm_live_and_open_the_drawer(page, jupyter_server, demo):
    expect = _expect()
    nb = new_notebook(jupyter_server, [start_cell(demo), LATER_CELL])
    open_notebook(page, jupyter_server, nb)
    state = run_all_and_wait(page)  # the cells end while the run waits at its gates
    later = state["cells"][1]["outputs"][0]["text"]
    assert "later cell ran while the run is executing" in "".join(later)
    counts = [c["count"] for c in state["cells"]]

    cy = wait_for_cytoscape(page, selector=CANVAS, min_nodes=7, min_edges=6)
    assert (cy["nodes"], cy["edges"]) == (7, 6), cy
    assert page.locator(f"{CANVAS} canvas").count() >= 1
    expect(page.locator(".prodex-run-info")).to_be_visible()
    expect(gates_resolved(page)).to_have_text("Gates resolved: 0 / 3", timeout=EXPECT_MS)
    expect(page.locator(".prodex-status-chip")).to_have_text("executing")
    expect(card(page, "throughput_shape")).to_be_visible(timeout=EXPECT_MS)
    expect(card(page, "recipes_shape")).to_be_visible(timeout=EXPECT_MS)
    expect(card(page, "recipes_shape")).to_contain_text("Confidence: medium")
    expect(card(page, "recipes_shape").locator("table.prodex-table").first).to_be_visible()
    # class changes reach the front end: the pending gates stand out on the canvas
    wait_for_classes(page, "throughput", {"gated", "g-pending", "attention"})
    page.locator(".prodex-run-view").first.scroll_into_view_if_needed()
    screenshot(page, "run-view-1-pending")

    # Confirm: the paused run resumes, the view updates with no cell running.
    card(page, "throughput_shape").locator(".prodex-confirm").click()
    expect(gates_resolved(page)).to_have_text("Gates resolved: 1 / 3", timeout=EXPECT_MS)
    wait_for_classes(page, "throughput", {"g-confirmed"}, {"g-pending", "attention"})
    decided = page.locator(".prodex-decided.prodex-gate-throughput_shape")
    expect(decided).to_contain_text("Confirmed")
    expect(decided.locator(".prodex-reopen")).to_be_visible()

    card(page, "recipes_shape").locator(".prodex-confirm").click()
    expect(gates_resolved(page)).to_have_text("Gates resolved: 2 / 3", timeout=EXPECT_MS)
    # the transform gate is asked only now, once both gates above it are decided
    expect(card(page, "station_means_sanity")).to_be_visible(timeout=EXPECT_MS)
    wait_for_classes(page, "station_cycle_times", {"st-produced", "g-pending", "attention"})
    wait_for_classes(page, "overruns_by_shift", {"st-produced"})
    card(page, "station_means_sanity").locator(".prodex-confirm").click()
    expect(gates_resolved(page)).to_have_text("Gates resolved: 3 / 3", timeout=EXPECT_MS)
    expect(page.locator(".prodex-status-chip")).to_have_text("completed", timeout=EXPECT_MS)
    expect(page.locator(".prodex-nodes-produced")).to_have_text("Nodes produced: 7 / 7")
    wait_for_classes(page, "plant_mean_cycle_time", {"st-produced"})
    page.locator(".prodex-run-view").first.scroll_into_view_if_needed()
    screenshot(page, "run-view-2-confirmed")

    # Click an output node: the derivation drawer opens with the SQL and the source files.
    click_cytoscape_node(page, "plant_mean_cycle_time", selector=CANVAS)
    drawer = page.locator(".prodex-drawer")
    expect(drawer).to_be_visible(timeout=EXPECT_MS)
    expect(drawer).to_contain_text("41.18")
    expect(drawer).to_contain_text("Derivation (SQL)")
    expect(drawer.locator(".prodex-code-sql")).to_contain_text("station_cycle_times")
    expect(drawer.locator(".prodex-code-sql")).to_contain_text("SELECT")
    expect(drawer).to_contain_text("weekly_throughput.csv")
    expect(drawer).to_contain_text("recipes.csv")
    expect(drawer).to_contain_text("Sanity check on computed mean cycle times")
    wait_for_classes(page, "plant_mean_cycle_time", {"selected"})
    drawer.scroll_into_view_if_needed()
    screenshot(page, "run-view-3-drawer")

    # The derivation code follows the theme: in JupyterLab Dark its box is dark and its
    # keywords take the dark editor's keyword colour.
    code = drawer.locator(".prodex-code-sql")
    light = code.evaluate("e => getComputedStyle(e).backgroundColor")
    page.evaluate(
        "window.jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Dark'})"
    )
    page.wait_for_function("document.body.dataset.jpThemeLight === 'false'", timeout=EXPECT_MS)
    page.wait_for_selector("#jupyterlab-splash", state="detached", timeout=EXPECT_MS)
    page.wait_for_function(
        "([sel, light]) => getComputedStyle(document.querySelector(sel)).backgroundColor !== light",
        arg=[".prodex-drawer .prodex-code-sql", light],
        timeout=EXPECT_MS,
    )
    dark = code.evaluate(
        """e => {
            const lum = c => { const [r, g, b] = c.match(/\\d+/g).map(Number);
                               return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255; };
            const keyword = e.querySelector('.k');
            const wanted = getComputedStyle(document.body)
                .getPropertyValue('--jp-mirror-editor-keyword-color').trim();
            const probe = document.createElement('span');
            probe.style.color = wanted; document.body.appendChild(probe);
            const resolved = getComputedStyle(probe).color; probe.remove();
            return {background: lum(getComputedStyle(e).backgroundColor),
                    keyword: getComputedStyle(keyword).color, wanted: resolved};
        }"""
    )
    assert dark["background"] < 0.35, dark
    assert dark["keyword"] == dark["wanted"], dark
    screenshot(page, "run-view-4-drawer-dark")
    page.evaluate(
        "window.jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Light'})"
    )

    # No cell ran for any of it: the execution counts are those of Run All.
    assert [c["count"] for c in wait_for_idle(page)["cells"]] == counts


def test_reject_gives_completed_partial_then_reconfirm(page, jupyter_server, demo):
    expect = _expect()
    demo_run_on_screen(page, jupyter_server, demo)

    recipes = card(page, "recipes_shape")
    expect(recipes).to_be_visible(timeout=EXPECT_MS)
    recipes.locator(".prodex-reject").click()
    form = recipes.locator(".prodex-note-form")
    expect(form).to_be_visible()
    form.locator(".prodex-note-submit").click()  # no reason yet: refused, visibly
    expect(form.locator(".prodex-note-error")).to_contain_text("A reason is required")
    form.locator("textarea").fill("R07 and R08 are missing from the master list")
    form.locator(".prodex-note-submit").click()
    card(page, "throughput_shape").locator(".prodex-confirm").click()

    expect(page.locator(".prodex-status-chip")).to_have_text("completed_partial", timeout=EXPECT_MS)
    expect(gates_resolved(page)).to_have_text("Gates resolved: 2 / 3 · 1 rejected")
    wait_for_classes(page, "recipes", {"g-rejected"})
    wait_for_classes(page, "cycles", {"st-blocked"})
    rejected = page.locator(".prodex-decided.prodex-gate-recipes_shape")
    expect(rejected).to_contain_text("R07 and R08 are missing")
    click_cytoscape_node(page, "plant_mean_cycle_time", selector=CANVAS)
    expect(page.locator(".prodex-drawer .prodex-why")).to_contain_text(
        "not produced: gate 'Recipe master list' (recipes_shape) was rejected",
        timeout=EXPECT_MS,
    )
    page.locator(".prodex-run-view").first.scroll_into_view_if_needed()
    screenshot(page, "run-view-4-completed-partial")

    # Re-confirm on the same run (with a reason): it goes on to the next gate.
    rejected.locator(".prodex-reconfirm").click()
    again = rejected.locator(".prodex-note-form")
    expect(again).to_contain_text("after its rejection")
    again.locator("textarea").fill("R07 and R08 were added to the master list")
    again.locator(".prodex-note-submit").click()
    expect(card(page, "station_means_sanity")).to_be_visible(timeout=EXPECT_MS)
    expect(page.locator(".prodex-status-chip")).to_have_text("executing")
    wait_for_classes(page, "recipes", {"g-confirmed"})


def test_load_run_displays_the_stored_run(page, jupyter_server, demo):
    expect = _expect()
    cells = [
        start_cell(demo) + "\nawait run.until_idle()\nrun.confirm('throughput_shape', by='ana')"
        "\nrun_id = run.id",
        "again = px.load_run(run_id, store=" + repr(demo["store"]) + ")",
        "again",  # a bare run at the end of a cell shows the view too
    ]
    nb = new_notebook(jupyter_server, cells)
    open_notebook(page, jupyter_server, nb)
    run_all_and_wait(page)
    views = page.locator(".prodex-run-view")
    expect(views).to_have_count(3, timeout=EXPECT_MS)
    loaded = views.nth(1)
    expect(loaded.locator(".prodex-gates-resolved .prodex-row")).to_have_text(
        "Gates resolved: 1 / 3", timeout=EXPECT_MS
    )
    # A decision in the loaded run's view reaches the running one (in this kernel).
    loaded.locator(".prodex-gate-card.prodex-gate-recipes_shape .prodex-confirm").click()
    expect(views.nth(0).locator(".prodex-gates-resolved .prodex-row")).to_have_text(
        "Gates resolved: 2 / 3", timeout=EXPECT_MS
    )


GENERATED_CELL = """\
import tempfile, time
import prodex_jupyter as px
from tests.test_widgets_support import generated
folder = tempfile.mkdtemp()
tpl = generated(__import__('pathlib').Path(folder), {n})
run = tpl.run(store=folder + '/store')"""


def test_200_node_run_opens_readable_on_the_pending_gate(page, jupyter_server, capsys):
    expect = _expect()
    nb = new_notebook(jupyter_server, [GENERATED_CELL.format(n=200)])
    open_notebook(page, jupyter_server, nb)
    # drawn with its chains of steps collapsed into groups: fewer nodes than the template's
    timing = measure_run_all_to_paint(page, min_nodes=40, selector=CANVAS)
    wait_for_idle(page)
    prompt = page.locator(".prodex-gate-card.prodex-prompt").first
    expect(prompt).to_be_visible(timeout=EXPECT_MS)
    # The run poses its ten source gates one after another, and the first prompt's batch grows
    # until the last is posed (a card rebuilt under a click loses the click): decide once the
    # run waits for people only.
    expect(page.locator(".prodex-run-view .prodex-status-note").first).to_have_text(
        re.compile(r"^waiting for a decision on \d+ gates$"), timeout=EXPECT_MS
    )
    # The view focuses a node whose gate waits: readable zoom, well inside the canvas.
    focused = None
    for _ in range(50):
        page.wait_for_timeout(100)
        focused = page.evaluate(_JS_FOCUSED, CANVAS)
        if focused and focused["best"]:
            break
    assert focused and focused["best"], focused
    view = focused["best"]
    assert view["zoom"] >= 0.8 and view["fontPx"] >= 9.5, focused
    assert 20 <= view["x"] <= focused["w"] - 20, focused
    assert 20 <= view["y"] <= focused["h"] - 20, focused
    page.locator(".prodex-run-view").first.scroll_into_view_if_needed()
    screenshot(page, "run-view-5-200-nodes")

    # Deciding the first prompt updates the canvas in place: its gates' badges turn green.
    classes = (prompt.get_attribute("class") or "").split()
    gate_ids = [c[len("prodex-gate-") :] for c in classes if c.startswith("prodex-gate-")]
    gate_ids = [g for g in gate_ids if g != "card"]
    assert gate_ids, classes
    prompt.locator(".prodex-confirm").click()
    for gate_id in gate_ids:  # generated gates are <node>_shape or <node>_ok
        wait_for_classes(page, gate_id.rsplit("_", 1)[0], {"g-confirmed"}, {"attention"})
    # Fit shows the whole graph (small), then Focus pending comes back to a readable zoom.
    page.locator(".prodex-fit").click()
    fitted = _poll_zoom(page, lambda z: z < 0.6)
    extent = page.evaluate(
        """(sel) => { const cy = document.querySelector(sel)._cyreg.cy;
           const bb = cy.nodes().boundingBox(), ex = cy.extent();
           return bb.x1 >= ex.x1 - 1 && bb.x2 <= ex.x2 + 1 && bb.y1 >= ex.y1 - 1
                  && bb.y2 <= ex.y2 + 1; }""",
        CANVAS,
    )
    assert extent, f"after Fit, not every node is in view (zoom {fitted})"
    screenshot(page, "run-view-6-200-nodes-fit")
    page.locator(".prodex-focus").click()
    _poll_zoom(page, lambda z: z >= 0.99)
    line = f"run view, 200-node template: Run All -> painted canvas {timing['paint']:.3f}s"
    ARTIFACTS_DIR.mkdir(parents=True, exist_ok=True)
    with open(ARTIFACTS_DIR / "run-view-first-paint.jsonl", "a") as fh:
        fh.write(json.dumps({"nodes": 200, **timing}) + "\n")
    with capsys.disabled():
        print("\n" + line)


_JS_GROUPS = """
(selector) => {
  const cy = document.querySelector(selector)._cyreg.cy;
  return {
    nodes: cy.nodes(':visible').length,
    groups: cy.nodes('.k-group:visible').map(n => ({id: n.id(), label: n.data('label')})),
  };
}
"""

_JS_HAS = """
([selector, ids]) => {
  const cy = document.querySelector(selector)._cyreg.cy;
  return ids.map(id => cy.getElementById(id).visible());
}
"""


def _wait_drawn(page, present: list[str], absent: list[str]) -> None:
    for _ in range(200):
        have = page.evaluate(_JS_HAS, [CANVAS, present + absent])
        if all(have[: len(present)]) and not any(have[len(present) :]):
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"canvas never showed {present} without {absent}")


def test_a_collapsed_group_expands_on_click_and_on_search(page, jupyter_server):
    expect = _expect()
    nb = new_notebook(jupyter_server, [GENERATED_CELL.format(n=200)])
    open_notebook(page, jupyter_server, nb)
    run_all_and_wait(page)
    wait_for_cytoscape(page, selector=CANVAS, min_nodes=40)
    drawn = page.evaluate(_JS_GROUPS, CANVAS)
    assert drawn["groups"] and drawn["nodes"] < 200, drawn
    group = drawn["groups"][0]
    first = group["id"].removeprefix("group:")
    steps = int(re.search(r"(\d+) steps", group["label"]).group(1))
    assert group["label"].startswith(first), group

    # A click on a group draws its steps in its place.
    click_cytoscape_node(page, group["id"], selector=CANVAS, pan_into_view=True)
    _wait_drawn(page, [first], [group["id"]])
    after = page.evaluate(_JS_GROUPS, CANVAS)
    assert after["nodes"] == drawn["nodes"] + steps - 1, (drawn, after)
    assert group["id"] not in [g["id"] for g in after["groups"]]
    expect(page.locator(".prodex-drawer")).to_be_hidden()
    page.locator(".prodex-run-view").first.scroll_into_view_if_needed()
    screenshot(page, "run-view-7-group-expanded")
    # a step of it is a node like any other: a click opens its drawer
    click_cytoscape_node(page, first, selector=CANVAS, pan_into_view=True)
    drawer = page.locator(".prodex-drawer")
    expect(drawer).to_be_visible(timeout=EXPECT_MS)
    expect(drawer).to_contain_text(first)
    wait_for_classes(page, first, {"selected"})

    # Searching a step inside another collapsed group opens that group and its drawer.
    other = after["groups"][0]
    inside = other["id"].removeprefix("group:")
    search = page.locator(".prodex-search input")
    search.fill(inside)
    search.press("Enter")
    _wait_drawn(page, [inside], [other["id"]])
    expect(drawer).to_contain_text(inside, timeout=EXPECT_MS)
    wait_for_classes(page, inside, {"selected"})


def test_notebook7_shows_the_run_view_and_takes_a_decision(page, jupyter_server, demo):
    expect = _expect()
    demo_run_on_screen(page, jupyter_server, demo, opener=open_in_notebook7)
    expect(card(page, "throughput_shape")).to_be_visible(timeout=EXPECT_MS)
    card(page, "throughput_shape").locator(".prodex-confirm").click()
    expect(gates_resolved(page)).to_have_text("Gates resolved: 1 / 3", timeout=EXPECT_MS)
    wait_for_classes(page, "throughput", {"g-confirmed"})
    click_cytoscape_node(page, "throughput", selector=CANVAS)
    expect(page.locator(".prodex-drawer")).to_contain_text("weekly_throughput.csv")
    page.locator(".prodex-run-view").first.scroll_into_view_if_needed()
    screenshot(page, "run-view-7-notebook7")
    assert re.search(r"/notebooks/", page.url)


# Each node's box as drawn, in px from the canvas' top left corner, with the canvas' size, in
# the first paint: each node's SVG group (its badge and a group's card behind included); the
# live canvas' boxes are `cytoscape_boxes`'.
_JS_FIRST_PAINT_BOXES = """(svg) => {
  const c = svg.getBoundingClientRect();
  return {w: c.width, h: c.height, boxes: [...svg.querySelectorAll('g.node')].map(g => {
    const b = g.getBoundingClientRect();
    return {id: g.dataset.id, x1: b.left - c.left, x2: b.right - c.left,
            y1: b.top - c.top, y2: b.bottom - c.top};
  })};
}"""


def live_on_first_prompt(page) -> tuple[list[str], dict]:
    """The nodes of the first prompt's gates and the live canvas' node boxes, once the canvas
    shows what needs attention and neither the first prompt nor the viewport changed over two
    polls (the run raises its gates one after another; the view follows the first prompt)."""
    last = None
    for _ in range(100):
        gates = first_prompt_nodes(page)
        drawn = cytoscape_boxes(page, CANVAS)
        now = (gates, drawn["pan"], drawn["zoom"])
        if drawn["attention"] and now == last:
            return gates, drawn
        last = now
        page.wait_for_timeout(150)
    raise AssertionError(f"the live canvas never settled on the first prompt: {last}")


def first_prompt_nodes(page) -> list[str]:
    """The nodes of the gates the first prompt card asks about (gate ids <node>_<suffix>)."""
    prompt = page.locator(".prodex-gate-card.prodex-prompt").first
    _expect()(prompt).to_be_visible(timeout=EXPECT_MS)
    classes = (prompt.get_attribute("class") or "").split()
    gates = [c[len("prodex-gate-") :] for c in classes if c.startswith("prodex-gate-")]
    return [g.rsplit("_", 1)[0] for g in gates if g != "card"]


# Every frame until the live canvas is shown: whether the first paint was on screen with its
# nodes, which nodes it drew, and whether a frame ever showed the first paint and the live view
# together (the live view's output is laid out but invisible while its output area hydrates).
_JS_FIRST_PAINT_RECORDER = """
() => {
  const r = {seen: false, ids: [], both: false, frames: 0, done: false, drawn: null};
  window.__firstPaint = r;
  window.__firstPaintBoxes = FIRST_PAINT_BOXES;
  const visible = (el) => {
    if (!el) return false;
    const b = el.getBoundingClientRect();
    return b.width > 0 && b.height > 0 && getComputedStyle(el).visibility === 'visible';
  };
  const frame = () => {
    r.frames += 1;
    const svg = [...document.querySelectorAll('.prodex-first-paint svg')].find(visible);
    if (svg && svg.querySelectorAll('g.node').length) {
      if (!r.seen) r.drawn = window.__firstPaintBoxes(svg);
      r.seen = true;
      r.ids = [...svg.querySelectorAll('g.node')].map(g => g.dataset.id);
    }
    const live = document.querySelector('.prodex-run-view .prodex-canvas');
    if (svg && visible(live)) r.both = true;
    if (live && visible(live) && !document.querySelector('.prodex-hydrating')) {
      r.done = true;
      return;
    }
    requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);
}
""".replace("FIRST_PAINT_BOXES", _JS_FIRST_PAINT_BOXES)


def test_the_first_paint_shows_the_graph_then_gives_way_to_the_live_canvas(page, jupyter_server):
    expect = _expect()
    nb = new_notebook(jupyter_server, [GENERATED_CELL.format(n=200)])
    open_notebook(page, jupyter_server, nb)
    page.evaluate(_JS_FIRST_PAINT_RECORDER)
    run_all_and_wait(page)
    cy = wait_for_cytoscape(page, selector=CANVAS, min_nodes=40)
    page.wait_for_function("() => window.__firstPaint.done", timeout=EXPECT_MS)
    record = page.evaluate("() => window.__firstPaint")
    # the graph was on screen first, as the live canvas draws it: the same (folded) nodes
    assert record["seen"], record
    live_ids = page.evaluate(
        "(sel) => document.querySelector(sel)._cyreg.cy.nodes().map(n => n.id())", CANVAS
    )
    assert sorted(record["ids"]) == sorted(live_ids) and len(live_ids) == cy["nodes"] < 200
    assert not record["both"], record  # never both at once
    assert not cut_nodes(record["drawn"]), record["drawn"]  # the first paint: no node cut
    # then the live view alone: no first paint, no static copy, the canvas interactive
    expect(page.locator(".prodex-hydrating")).to_have_count(0)
    for first in page.locator(".prodex-first-paint").all():
        expect(first).to_be_hidden()
    expect(page.locator(".prodex-static-run")).to_be_hidden()
    expect(page.locator(".prodex-run-view")).to_be_visible()
    # the live canvas, on the first prompt once the run reached it: its gates in view, no node
    # cut by the canvas' edge
    gates, live = live_on_first_prompt(page)
    page.locator(".prodex-run-view").first.scroll_into_view_if_needed()
    screenshot(page, "run-view-8-live-after-first-paint")
    assert not cut_nodes(live, gates), (gates, live)
    node = next(i for i in live_ids if i.startswith("src"))
    click_cytoscape_node(page, node, selector=CANVAS, pan_into_view=True)
    expect(page.locator(".prodex-drawer")).to_be_visible(timeout=EXPECT_MS)
    expect(page.locator(".prodex-drawer")).to_contain_text(node)

    first = show_first_paint_again(page, "run-view-8-first-paint")
    expect(first.locator("svg g.node")).to_have_count(len(live_ids))


def show_first_paint_again(page, name: str):
    """What the first paint looked like: the kept copy, shown again as while hydrating (the
    live view's output laid out but hidden), for a screenshot beside the live one."""
    page.evaluate(
        """() => {
          const area = document.querySelector('.prodex-run-view').closest('.jp-OutputArea');
          area.classList.add('prodex-hydrating');
          document.querySelector('.prodex-run-view').closest('.jp-OutputArea-child')
            .classList.add('prodex-live-pending');
        }"""
    )
    first = page.locator(".prodex-first-paint").first
    _expect()(first).to_be_visible()
    # scrolled by the page itself: the static copy's output is replaced as the run moves, so
    # an element Playwright waits on to be stable can be gone by then
    page.evaluate("() => document.querySelector('.prodex-first-paint').scrollIntoView()")
    screenshot(page, name)
    return first


# A run displayed once it waits for people: its first paint and live canvas open on the prompt.
WAITING_CELL = """\
import tempfile
import prodex_jupyter as px
from prodex_jupyter.widgets import suppressed
from tests.test_widgets_support import generated
folder = tempfile.mkdtemp()
tpl = generated(__import__('pathlib').Path(folder), 200)
with suppressed():
    run = tpl.run(store=folder + '/store')
await run.until_idle()
run"""


def test_a_waiting_big_run_opens_on_its_prompt_with_no_node_cut(page, jupyter_server):
    nb = new_notebook(jupyter_server, [WAITING_CELL])
    open_notebook(page, jupyter_server, nb)
    page.evaluate(_JS_FIRST_PAINT_RECORDER)
    run_all_and_wait(page)
    wait_for_cytoscape(page, selector=CANVAS, min_nodes=40)
    page.wait_for_function("() => window.__firstPaint.done", timeout=EXPECT_MS)
    record = page.evaluate("() => window.__firstPaint")
    gates, live = live_on_first_prompt(page)  # the run waits: its first prompt stays
    assert record["seen"] and len(gates) > 1, (record, gates)
    # the first paint and the live canvas open alike: the prompt's gates whole, no node cut
    assert not cut_nodes(record["drawn"], gates), (gates, record["drawn"])
    page.locator(".prodex-run-view").first.scroll_into_view_if_needed()
    screenshot(page, "run-view-9-waiting-run-live")
    assert not cut_nodes(live, gates), (gates, live)
    show_first_paint_again(page, "run-view-9-waiting-run-first-paint")
