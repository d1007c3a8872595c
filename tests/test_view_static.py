"""The static rendering of a run (view/static.py): what a saved notebook shows without a kernel."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from prodex_jupyter.view import badges
from prodex_jupyter.view.static import run_html, run_text, static_bundle

SVG = "{http://www.w3.org/2000/svg}"


def test_a_finished_run_renders_status_gates_outputs_canvas_and_how_to_reopen(demo_template, store):
    run = demo_template.run(store=store)
    run.wait(timeout=30)
    run.confirm("throughput_shape", by="ana")
    run.reject("recipes_shape", note="R07 missing", by="ben").wait(timeout=30)
    run.confirm("recipes_shape", note="R07 added since", by="ben").wait(timeout=30)
    run.confirm("station_means_sanity", by="ana").wait(timeout=30)
    state = run.state
    page = run_html(state, store.load_table, str(store.root))

    assert f"run <code>{run.id}</code>" in page
    assert ">completed</span>" in page and "Gates resolved: 3 / 3" in page
    # every gate with its decisions, who, when and why
    for gate in state.gates.values():
        assert gate.name in page
    assert "rejected by <b>ben</b>" in page and "R07 missing" in page and "R07 added since" in page
    assert re.search(r"confirmed by <b>ana</b> at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d", page)
    # outputs with their values: the scalar, and the table's first rows
    assert "<b>41.18</b>" in page
    assert "table, 3 rows" in page and "<th>over_target_rate</th>" in page
    # the canvas: one group per node at the layout's positions, full names on hover
    svg = ET.fromstring(page[page.index("<svg") : page.index("</svg>") + 6])
    groups = svg.findall(f"{SVG}g")
    assert sorted(g.get("data-id") for g in groups) == sorted(state.nodes)
    titles = [g.find(f"{SVG}title").text for g in groups]
    assert any(t.startswith("plant_mean_cycle_time (output): produced") for t in titles)
    # how to reopen it live
    assert f'px.load_run("{run.id}", store="{store.root}")' in page
    text = run_text(state, str(store.root))
    assert "plant_mean_cycle_time = 41.18" in text and run.id in text
    assert "gate recipes_shape: confirmed by ben" in text
    # inline colours (kept where `<style>` is dropped) never as the `background` shorthand:
    # JupyterLab's table of contents sanitizes every HTML output on each change, and tests such
    # a value against a regular expression that held the page's main thread for 0.1 s and more
    styles = re.findall(r'style="([^"]*)"', page)
    assert styles and not any(re.search(r"(^|;)\s*background\s*:", s) for s in styles), styles


def test_a_rejected_gate_and_a_waiting_run_read_as_they_are(demo_template, store):
    run = demo_template.run(store=store)
    run.wait(timeout=30)
    run.reject("recipes_shape", note="old list").wait(timeout=30)
    page = static_bundle(run.state)["text/html"]
    assert "Gates resolved: 1 / 3 · 1 rejected" in page
    assert "not produced" in page  # the outputs below the rejected gate
    svg = ET.fromstring(page[page.index("<svg") : page.index("</svg>") + 6])
    recipes = next(g for g in svg.findall(f"{SVG}g") if g.get("data-id") == "recipes")
    assert recipes.find(f"{SVG}rect").get("stroke") == "#b91c1c"
    # each gate's badge is the live canvas' (shield and mark), for its state
    marks = {
        g.get("data-id"): g.find(f"{SVG}g[@class='prodex-badge']") for g in svg.findall(f"{SVG}g")
    }
    assert {n: m.get("data-status") for n, m in marks.items() if m is not None} == {
        gate.node_id: gate.status for gate in run.state.gates.values()
    }
    badge = marks["recipes"]
    live = ET.fromstring(badges.badge_svg("rejected"))
    assert [(e.tag, e.attrib) for e in badge] == [(e.tag, e.attrib) for e in live]
