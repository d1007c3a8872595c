"""The run view's first paint (view/first_paint.py): the graph the live canvas opens with, in
SVG, at the live canvas' positions and viewport; with the hydration script only when asked."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from prodex_jupyter.view.canvas import canvas_plan
from prodex_jupyter.view.first_paint import first_paint_html
from prodex_jupyter.view.graph_layout import NODE_H, NODE_W
from prodex_jupyter.widgets.canvas import RunCanvas
from tests.test_widgets_support import generated

SVG = "{http://www.w3.org/2000/svg}"


def _svg(page: str) -> ET.Element:
    return ET.fromstring(page[page.index("<svg") : page.index("</svg>") + 6])


def _boxes(svg: ET.Element) -> dict[str, tuple[float, float]]:
    """Each drawn node's centre, from its box (the last rect before its label is the box)."""
    out = {}
    for g in svg.iter(f"{SVG}g"):
        node_id = g.get("data-id")
        if node_id is None:
            continue
        rect = next(r for r in g.findall(f"{SVG}rect") if r.get("width") == f"{NODE_W:.0f}")
        if g.find(f"{SVG}rect") is not rect:  # a group: its card behind comes first
            rect = g.findall(f"{SVG}rect")[1]
        out[node_id] = (
            float(rect.get("x")) + NODE_W / 2,
            float(rect.get("y")) + NODE_H / 2,
        )
    return out


def _first_paint(tpl, store, timeout: float):
    """Run `tpl` to its end, then its state, canvas plan, first paint, SVG and node boxes."""
    run = tpl.run(store=store)
    run.wait(timeout=timeout)
    state = run.state
    plan = canvas_plan(state)
    page = first_paint_html(state, plan)
    svg = _svg(page)
    return run, state, plan, page, svg, _boxes(svg)


def test_a_small_run_is_drawn_whole_and_fitted_at_the_live_canvas_positions(demo_template, store):
    run, state, plan, page, svg, boxes = _first_paint(demo_template, store, timeout=30)
    assert sorted(boxes) == sorted(state.nodes)
    for node_id, (x, y) in plan.layout.positions.items():
        assert boxes[node_id] == (round(x, 1), round(y, 1))
    # fitted, as the live canvas opens a small graph: the graph's box in a viewBox
    assert plan.preset["fit"] is True
    assert svg.get("preserveAspectRatio") == "xMidYMid meet"
    left, top, width, height = map(float, svg.get("viewBox").split())
    assert all(left < x - NODE_W / 2 and x + NODE_W / 2 < left + width for x, _ in boxes.values())
    assert all(top < y - NODE_H / 2 and y + NODE_H / 2 < top + height for _, y in boxes.values())
    assert svg.get("height") == str(plan.height)
    # the header and the Run Information of the live view
    assert state.template_id in page and "Run Information" in page and run.id in page
    # the script that swaps it for the live view, only when asked for
    assert page.count("<script>") == 1 and "prodex-hydrating" in page
    kept = first_paint_html(state, plan, hydrate=False)
    assert "<script" not in kept and kept in page.replace(page[page.index("<script>") :], "")


def test_a_big_run_is_drawn_folded_at_the_live_canvas_zoom_and_pan(tmp_path, store):
    _, state, plan, _, svg, boxes = _first_paint(generated(tmp_path, 200), store, timeout=60)
    # the groups collapsed as the live canvas draws them: fewer nodes than the run has
    assert sorted(boxes) == sorted(plan.folded.order)
    assert len(boxes) < len(state.nodes) and any(n.startswith("group:") for n in boxes)
    # the live canvas' opening zoom and pan, in one transform
    canvas = RunCanvas(state)
    try:
        layout = canvas.graph.cytoscape_layout
        assert layout["fit"] is False and layout["name"] == "preset"
        assert dict(canvas.graph.graph.nodes[0].position) == dict(
            zip("xy", plan.layout.positions[plan.folded.order[0]], strict=True)
        )
        transform = svg.find(f"{SVG}g").get("transform")
        tx, ty, zoom = map(float, re.findall(r"[-\d.]+", transform))
        assert (tx, ty) == (round(layout["pan"]["x"], 1), round(layout["pan"]["y"], 1))
        assert zoom == layout["zoom"]
        assert canvas.height == plan.height
    finally:
        canvas.close()
