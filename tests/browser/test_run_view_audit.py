"""Issue 11 in a real JupyterLab (and Notebook 7): reopen with a reason, the static view of a
saved notebook reopened without its kernel, WCAG AA contrast of every text in both themes
(computed from the rendered colours), and the runs list at a 1000 px window.

Run: .venv/bin/python -m pytest tests/browser/test_run_view_audit.py -m browser -s
Screenshots land in test-artifacts/browser/audit-*.png.
"""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from .jupyter_harness import (
    click_cytoscape_node,
    cytoscape_node_point,
    new_notebook,
    open_in_notebook7,
    open_notebook,
    run_all_and_wait,
    screenshot,
    wait_for_cytoscape,
)
from .test_interrupted_view import interrupted_run
from .test_run_view import (
    CANVAS,
    EXPECT_MS,
    _expect,
    card,
    demo_run_on_screen,
    gates_resolved,
)

pytestmark = pytest.mark.browser

HERE = Path(__file__).parent


def _set_theme(page, theme: str) -> None:
    light = "true" if theme == "JupyterLab Light" else "false"
    page.evaluate(
        f"window.jupyterapp.commands.execute('apputils:change-theme', {{theme: '{theme}'}})"
    )
    page.wait_for_function(f"document.body.dataset.jpThemeLight === '{light}'", timeout=EXPECT_MS)
    page.wait_for_selector("#jupyterlab-splash", state="detached", timeout=EXPECT_MS)
    page.wait_for_timeout(500)  # the theme's stylesheet settles


# --------------------------------------------------------------------------- reopen
@pytest.mark.parametrize("ui", ["lab", "notebook7"])
def test_reopen_asks_first_and_needs_a_reason(page, jupyter_server, demo, ui):
    expect = _expect()
    opener = open_notebook if ui == "lab" else open_in_notebook7
    demo_run_on_screen(page, jupyter_server, demo, opener=opener)
    card(page, "throughput_shape").locator(".prodex-confirm").click()
    expect(gates_resolved(page)).to_have_text("Gates resolved: 1 / 3", timeout=EXPECT_MS)

    decided = page.locator(".prodex-decided.prodex-gate-throughput_shape")
    decided.locator(".prodex-reopen").click()
    form = decided.locator(".prodex-note-form")
    expect(form).to_be_visible()
    expect(form.locator(".prodex-note-question")).to_contain_text(
        "Reopen? Values already produced stay"
    )
    expect(gates_resolved(page)).to_have_text("Gates resolved: 1 / 3")  # nothing decided yet
    form.locator(".prodex-note-submit").click()  # no reason: refused where it is typed
    expect(form.locator(".prodex-note-error")).to_contain_text("A reason is required to reopen")
    form.locator("textarea").fill("the MES export was re-run this morning")
    decided.scroll_into_view_if_needed()
    screenshot(page, f"audit-reopen-{ui}")
    form.locator(".prodex-note-submit").click()
    expect(gates_resolved(page)).to_have_text("Gates resolved: 0 / 3", timeout=EXPECT_MS)
    expect(card(page, "throughput_shape")).to_be_visible(timeout=EXPECT_MS)  # asked again
    # the reason is in the record: the node's drawer lists the gate's decisions
    click_cytoscape_node(page, "throughput", selector=CANVAS)
    drawer = page.locator(".prodex-drawer")
    expect(drawer).to_contain_text("reopened by", timeout=EXPECT_MS)
    expect(drawer).to_contain_text("the MES export was re-run this morning")


# ---------------------------------------------------------------------- canvas
LONG_CELLS = [
    "import pandas as pd, prodex_jupyter as px\n"
    "tpl = px.Template('long_names')\n"
    "tpl.source('throughput_extract_from_the_manufacturing_execution_system')\n"
    "tpl.sql('station_means', 'SELECT count(*) AS n FROM "
    "throughput_extract_from_the_manufacturing_execution_system')\n"
    "tpl.output('plant_mean', of='station_means')\n"
    "frame = pd.DataFrame({{'a': range(40)}})\n"
    "run = tpl.run(store={store!r}, inputs={{"
    "'throughput_extract_from_the_manufacturing_execution_system': frame}})",
]


def test_canvas_labels_read_at_11px_full_names_on_hover_and_search(page, jupyter_server, demo):
    expect = _expect()
    long_name = "throughput_extract_from_the_manufacturing_execution_system"
    nb = new_notebook(jupyter_server, [c.format(**demo) for c in LONG_CELLS])
    open_notebook(page, jupyter_server, nb)
    run_all_and_wait(page)
    wait_for_cytoscape(page, selector=CANVAS, min_nodes=3)
    page.wait_for_timeout(1000)  # the opening fit applied
    font_px = page.evaluate(
        "(sel) => { const cy = document.querySelector(sel)._cyreg.cy;"
        " return cy.nodes().map(n => parseFloat(n.style('font-size')) * cy.zoom()); }",
        CANVAS,
    )
    assert min(font_px) >= 11, font_px  # readable at the opening zoom

    # hover: the full name, on the node and in the toolbar
    x, y = cytoscape_node_point(page, long_name, selector=CANVAS, listener="mouseover")
    page.mouse.move(x, y)
    expect(page.locator(".prodex-hover-line")).to_contain_text(long_name, timeout=EXPECT_MS)
    hovered = page.evaluate(
        "([sel, id]) => { const n = document.querySelector(sel)._cyreg.cy.getElementById(id);"
        " return {classes: n.classes(), label: n.style('label')}; }",
        [CANVAS, long_name],
    )
    assert "hovered" in hovered["classes"] and hovered["label"] == long_name, hovered
    screenshot(page, "audit-canvas-hover")
    box = page.locator(f"{CANVAS} canvas").first.bounding_box()
    # empty canvas: the pointer leaves the node (in steps, as a hand moves)
    page.mouse.move(box["x"] + 4, box["y"] + box["height"] - 4, steps=8)
    expect(page.locator(".prodex-hover-line")).not_to_contain_text(long_name, timeout=EXPECT_MS)

    # search: a part of a name focuses the node and opens it
    search = page.locator(".prodex-search input")
    search.fill("plant_m")
    search.press("Enter")
    drawer = page.locator(".prodex-drawer")
    expect(drawer).to_be_visible(timeout=EXPECT_MS)
    expect(drawer.locator(".prodex-drawer-title")).to_contain_text("plant_mean")
    selected = page.evaluate(
        "(sel) => document.querySelector(sel)._cyreg.cy.nodes('.selected').map(n => n.id())",
        CANVAS,
    )
    assert selected == ["plant_mean"]
    screenshot(page, "audit-canvas-search")


# ------------------------------------------------------------------- static view
STATIC_CELLS = [
    "import prodex_jupyter as px\n"
    "tpl = px.load_template({template!r})\n"
    "run = tpl.run(store={store!r}, policy=px.confirm_high)",
    "await run.until_idle()\n"
    "run.confirm('recipes_shape', note='six recipes is the whole list')\n"
    "await run.until_idle()\n"
    "run.confirm('station_means_sanity', note='means checked against the dashboard')\n"
    "await run.until_idle()\n"
    "print(run.status)",
]


@pytest.mark.parametrize("ui", ["lab", "notebook7"])
def test_a_saved_notebook_reopened_without_its_kernel_shows_the_static_run(
    page, jupyter_server, demo, ui
):
    expect = _expect()
    opener = open_notebook if ui == "lab" else open_in_notebook7
    cells = [c.format(**demo) for c in STATIC_CELLS]
    nb = new_notebook(jupyter_server, cells)
    opener(page, jupyter_server, nb)
    run_all_and_wait(page)
    wait_for_cytoscape(page, selector=CANVAS, min_nodes=7)
    expect(page.locator(".prodex-status-chip")).to_have_text("completed", timeout=EXPECT_MS)
    # live: the widget draws the run; the static copy beside it stays hidden
    expect(page.locator(".prodex-static-run")).to_have_count(1, timeout=EXPECT_MS)
    expect(page.locator(".prodex-static-run")).to_be_hidden()
    # the static copy follows the last decision (hidden, but in the page): wait for it, then
    # save (the command resolves once the file is written)
    page.wait_for_function(
        """() => { const t = document.querySelector('.prodex-static-run').textContent;
                   return ['Gates resolved: 3 / 3', 'completed', '41.18',
                           'means checked against the dashboard'].every(s => t.includes(s)); }""",
        timeout=EXPECT_MS,
    )
    page.evaluate("async () => { await window.jupyterapp.commands.execute('docmanager:save'); }")
    run_id = page.evaluate(
        "() => document.querySelector('.prodex-run-ids .prodex-mono').textContent.trim()"
    )

    # Close everything: the kernel goes, and with it every widget model.
    jupyter_server.delete_all_sessions()
    page.goto("about:blank")
    opener(page, jupyter_server, nb)
    static = page.locator(".prodex-static-run")
    expect(static).to_be_visible(timeout=EXPECT_MS)
    expect(static).to_contain_text(run_id)
    expect(static).to_contain_text("Gates resolved: 3 / 3")
    expect(static).to_contain_text("completed")
    expect(static).to_contain_text("means checked against the dashboard")
    expect(static).to_contain_text("41.18")
    expect(static).to_contain_text(f'px.load_run("{run_id}"')
    expect(static.locator("svg.prodex-static-canvas g.node")).to_have_count(7)
    static.scroll_into_view_if_needed()
    screenshot(page, f"audit-static-reopened-light-{ui}")
    failures = contrast_failures(page, [".prodex-static-run"])
    _set_theme(page, "JupyterLab Dark")
    screenshot(page, f"audit-static-reopened-dark-{ui}")
    failures += contrast_failures(page, [".prodex-static-run"])
    _set_theme(page, "JupyterLab Light")
    assert not failures, "\n".join(failures)

    # nbconvert's HTML export shows it too
    out = jupyter_server.root_dir / nb.replace(".ipynb", ".html")
    subprocess.run(
        [sys.executable, "-m", "jupyter", "nbconvert", "--to", "html", nb],
        cwd=jupyter_server.root_dir,
        check=True,
        capture_output=True,
        timeout=120,
    )
    exported = out.read_text()
    assert 'class="prodex-static-run"' in exported and run_id in exported
    assert "<svg" in exported and f"px.load_run(&quot;{run_id}&quot;" not in exported
    assert f'px.load_run("{run_id}"' in exported


# -------------------------------------------------------------------- contrast
# WCAG 2 contrast of every element with its own text (and every form field) under the given
# roots: the text colour (times the opacity of its ancestors) over the effective background
# (the first opaque background walking up, with the translucent ones above it blended in).
_JS_CONTRAST = (HERE / "contrast_dom.js").read_text()

# The canvas draws its labels itself: check each node label against its node's fill.
_JS_CANVAS_CONTRAST = (HERE / "contrast_canvas.js").read_text()

ROOTS = [".prodex-run-view", ".prodex-runs-list", ".prodex-compare", ".prodex-static-run"]


def contrast_failures(page, roots=ROOTS, minimum: float = 4.5) -> list[str]:
    """Every view under `roots`, each scrolled into view first (JupyterLab skips laying out
    cells far off screen), checked where it stands."""
    failures: list[str] = []
    checked = 0
    for selector in roots:
        views = page.locator(selector)
        for i in range(views.count()):
            view = views.nth(i)
            if not view.is_visible():
                continue  # e.g. the static copy while the live widget draws
            view.scroll_into_view_if_needed()
            page.wait_for_timeout(200)
            found = page.evaluate(_JS_CONTRAST, [[selector], minimum])
            checked += found["checked"]
            failures += [f for f in found["failures"] if f not in failures]
    assert checked > 0, f"no text found under {roots}"
    if any(".prodex-run-view" in r for r in roots):
        canvas = page.evaluate(_JS_CANVAS_CONTRAST, [minimum])
        failures += canvas["failures"]
    return failures


CONTRAST_CELLS = [
    # a finished run whose recipe list had one more recipe: the baseline of the next run's drift
    "import shutil, prodex_jupyter as px\n"
    "tpl = px.load_template({template!r})\n"
    "other = shutil.copy(tpl.base_dir / 'data' / 'recipes.csv', 'recipes_copy.csv')\n"
    "with open(other, 'a') as f:\n"
    "    f.write('R99,Widget,55\\n')\n"
    "done = tpl.run(store={store!r}, inputs={{'recipes': other}})\n"
    "await done.until_idle()\n"
    "done.confirm('throughput_shape', by='ana')\n"
    "done.confirm('recipes_shape', by='ana')\n"
    "await done.until_idle()\n"
    "done.reject('station_means_sanity', note='ST-05 looks too slow', by='ben')\n"
    "await done.until_idle()",
    # both source gates wait (two prompt cards), the recipes card with drift since `done`
    "run = tpl.run(store={store!r})\nawait run.next_prompt()",
    "px.runs(store={store!r})",
    "px.compare(done, run)",
]


@pytest.mark.parametrize("ui", ["lab", "notebook7"])
def test_every_text_meets_wcag_aa_in_light_and_dark(page, jupyter_server, demo, ui):
    expect = _expect()
    cells = [c.format(**demo) for c in CONTRAST_CELLS]
    nb = new_notebook(jupyter_server, cells)
    (open_notebook if ui == "lab" else open_in_notebook7)(page, jupyter_server, nb)
    run_all_and_wait(page)
    wait_for_cytoscape(page, selector=CANVAS, min_nodes=7)
    expect(page.locator(".prodex-gate-card.prodex-prompt")).to_have_count(2, timeout=EXPECT_MS)
    expect(page.locator(".prodex-decided-rejected")).to_have_count(1, timeout=EXPECT_MS)
    drift = card(page, "recipes_shape").first.locator(".prodex-drift")
    expect(drift).to_contain_text("R99", timeout=EXPECT_MS)  # drift lines are checked too
    expect(page.locator(".prodex-runs-list")).to_be_visible(timeout=EXPECT_MS)
    expect(page.locator(".prodex-compare")).to_be_visible(timeout=EXPECT_MS)
    click_cytoscape_node(page, "plant_mean_cycle_time", selector=f".prodex-run-view {CANVAS}")
    expect(page.locator(".prodex-drawer").first).to_be_visible(timeout=EXPECT_MS)
    # the reject form open on a card, with its question and reason box
    card(page, "recipes_shape").first.locator(".prodex-reject").click()

    report = {}
    for theme in ("JupyterLab Light", "JupyterLab Dark"):
        _set_theme(page, theme)
        for name, selector in (
            ("cards", ".prodex-gate-cards"),
            ("compare", ".prodex-compare"),
            ("runs", ".prodex-runs-list"),
        ):
            page.locator(selector).first.scroll_into_view_if_needed()
            screenshot(page, f"audit-contrast-{theme.split()[-1].lower()}-{name}-{ui}")
        report[theme] = contrast_failures(page)
    _set_theme(page, "JupyterLab Light")
    problems = [f"{theme}: {f}" for theme, failures in report.items() for f in failures]
    assert not problems, f"{len(problems)} texts below 4.5:1\n" + "\n".join(problems)


# -------------------------------------------------------------------- runs list
RUNS_CELLS = [
    "import prodex_jupyter as px\n"
    "tpl = px.load_template({template!r})\n"
    "for _ in range(3):\n"
    "    r = tpl.run(store={store!r}, policy=px.confirm_high)\n"
    "    await r.until_idle()\n"
    "    r.reject('recipes_shape', note='not this week')\n"
    "    await r.until_idle()",
    "px.runs(store={store!r})",
    "px.runs(store={store!r} + '-empty')",
]

_JS_CLIPPED = """
() => {
  const list = document.querySelector('.prodex-runs-list');
  const grid = list.querySelector('.prodex-runs-grid');
  const box = grid.getBoundingClientRect();
  const out = {grid: {scroll: grid.scrollWidth, client: grid.clientWidth, right: box.right},
               viewport: window.innerWidth, clipped: [], outside: [], buttons: 0,
               texts: []};
  for (const b of grid.querySelectorAll('button')) {
    if (!b.getClientRects().length) continue;
    out.buttons++;
    out.texts.push(b.textContent.trim());
    const r = b.getBoundingClientRect();
    if (b.scrollWidth > b.clientWidth + 1) out.clipped.push(b.textContent.trim());
    const out_of_box = r.right > box.right + 1 || r.right > window.innerWidth;
    if (out_of_box) out.outside.push(b.textContent.trim());
  }
  return out;
}
"""


@pytest.mark.parametrize("ui", ["lab", "notebook7"])
def test_the_runs_list_fits_a_1000px_window(page, jupyter_server, demo, ui, tmp_path):
    expect = _expect()
    page.set_viewport_size({"width": 1000, "height": 900})
    cells = [c.format(**demo) for c in RUNS_CELLS]
    nb = new_notebook(jupyter_server, cells)
    with ThreadPoolExecutor(1) as pool:  # the run is made while the notebook's kernel starts
        # in the demo's store: its row shows the chip and Resume
        made = pool.submit(interrupted_run, tmp_path)
        (open_notebook if ui == "lab" else open_in_notebook7)(page, jupyter_server, nb)
        made.result()
    run_all_and_wait(page)
    lists = page.locator(".prodex-runs-list")
    expect(lists).to_have_count(2, timeout=EXPECT_MS)
    full = lists.first
    expect(full.locator(".prodex-runs-open:visible")).to_have_count(4, timeout=EXPECT_MS)
    expect(full.locator(".prodex-chip-interrupted:visible")).to_have_count(1)
    expect(full.locator(".prodex-runs-resume:visible")).to_have_count(1)
    full.evaluate("e => e.scrollIntoView({block: 'start'})")
    page.wait_for_timeout(300)
    screenshot(page, f"audit-runs-list-1000px-{ui}")
    seen = page.evaluate(_JS_CLIPPED)
    # every row's actions (Resume on the interrupted one), the visible sort headers
    assert seen["buttons"] >= 4 * 3 + 1 + 3, seen
    assert "Resume" in seen["texts"], seen
    assert seen["grid"]["scroll"] <= seen["grid"]["client"] + 1, seen  # no horizontal scroll
    assert not seen["clipped"], seen  # no button or header cut ("Op…", "Comp…")
    assert not seen["outside"], seen
    # an empty list says where it looked
    empty = lists.nth(1)
    expect(empty.locator(".prodex-runs-empty")).to_contain_text("No runs yet in the store at")
    expect(empty.locator(".prodex-runs-empty")).to_contain_text(demo["store"] + "-empty")
    page.set_viewport_size({"width": 1400, "height": 900})
