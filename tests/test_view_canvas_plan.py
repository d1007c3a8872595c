"""Where the canvas opens (view/canvas.py `canvas_plan`, shared by the live canvas and its first
paint): the gates the first prompt asks about are in view, and no node is cut by the canvas'
left edge (the graph runs on to the right, downstream, where the canvas' width ends it)."""

from __future__ import annotations

import itertools

import pytest

from prodex_jupyter.view.canvas import (
    ANCHOR_X,
    HALO,
    READABLE_ZOOM,
    canvas_plan,
    show_view,
)
from prodex_jupyter.view.graph_layout import NODE_H, NODE_W, RANK_GAP, layered_layout
from prodex_jupyter.view.panel import run_panel
from tests.test_widgets_support import generated

# The kernel does not know the canvas' width: narrower than the browser tests' (966 px), the
# width `RunCanvas` assumes for its zoom estimate.
WIDTH = 2 * ANCHOR_X + 240


def _boxes(positions, preset, halo: float = 0.0) -> dict[str, tuple[float, float, float, float]]:
    """Each node's box on the canvas (x1, y1, x2, y2 in px) at the preset's zoom and pan."""
    zoom, pan = preset["zoom"], preset["pan"]
    half_w, half_h = NODE_W / 2 + halo, NODE_H / 2 + halo
    return {
        n: (
            pan["x"] + zoom * (x - half_w),
            pan["y"] + zoom * (y - half_h),
            pan["x"] + zoom * (x + half_w),
            pan["y"] + zoom * (y + half_h),
        )
        for n, (x, y) in positions.items()
    }


def test_a_big_run_opens_on_its_first_prompts_gates_with_no_node_cut_at_the_left(tmp_path, store):
    run = generated(tmp_path, 200).run(store=store)
    run.wait(timeout=60)
    state = run.state
    plan = canvas_plan(state)
    assert not plan.small and plan.preset["fit"] is False
    drawn = {n: plan.layout.positions[plan.folded.shown_as[n]] for n in state.nodes}
    gates = [g.node_id for g in run.prompts[0].gates]
    # The first gate in template order is drawn right of the prompt's other gates (a source sits
    # just before its first consumer): centred on it, the others were off the left edge.
    assert len(gates) > 1 and drawn[gates[0]][0] > min(drawn[g][0] for g in gates)
    boxes = _boxes(plan.layout.positions, plan.preset)
    for gate in gates:
        x1, y1, x2, y2 = boxes[plan.folded.shown_as[gate]]
        assert x1 >= 0 and x2 <= WIDTH and y1 >= 0 and y2 <= plan.height, (gate, boxes)
    # every node (its halo too) is wholly left of the canvas or wholly right of its left edge
    haloed = _boxes(plan.layout.positions, plan.preset, HALO)
    cut = {n: b for n, b in haloed.items() if b[0] < 0 < b[2]}
    assert not cut, cut


@pytest.mark.parametrize("zoom", [0.5, 11 / 12, 1.0, 1.35, 2.0])
def test_a_focused_node_is_whole_in_view_and_no_rank_is_cut_at_the_left(zoom):
    chain = [f"n{i}" for i in range(40)]
    layout = layered_layout(chain, {b: [a] for a, b in itertools.pairwise(chain)})
    for target in chain:
        x, y = layout.positions[target]
        _, preset = show_view(x, y, zoom, 520, layout, mode="auto")
        haloed = _boxes(layout.positions, preset, HALO)
        assert not [n for n, b in haloed.items() if b[0] < 0 < b[2]], (target, preset)
        # whole, at most a rank right of where ANCHOR_X puts it
        x1, _, x2, _ = _boxes(layout.positions, preset)[target]
        assert x1 >= 24 - 1e-9, (target, preset)
        assert x2 <= ANCHOR_X + zoom * (NODE_W + RANK_GAP + NODE_W / 2), (target, preset)


def test_the_run_panels_canvas_opens_on_its_first_prompts_gates(tmp_path, store):
    """The JupyterLab run panel draws every node (no groups) and opens where the view says
    (`canvas.opening`, served with the record): the first prompt's gates whole in a canvas as
    short as 340 px (before, the panel centred the first gate in template order, src0, and cut
    src1 above the top edge), no node cut at its left edge, no empty canvas beyond the graph's
    left or top edge."""
    run = generated(tmp_path, 200).run(store=store)
    run.wait(timeout=60)
    canvas = run_panel(run.state, lambda sha: None, drawer=set())["canvas"]
    opening = canvas["opening"]
    assert opening["fit"] is False and opening["zoom"] == READABLE_ZOOM, opening
    positions = {
        n["data"]["id"]: (n["position"]["x"], n["position"]["y"])
        for n in canvas["elements"]["nodes"]
    }
    assert len(positions) == 200  # every node drawn
    gates = [g.node_id for g in run.prompts[0].gates]
    assert len(gates) > 1 and canvas["attention"][0] == gates[0]
    height = 340
    haloed = _boxes(positions, opening, HALO)
    for gate in gates:
        x1, y1, x2, y2 = haloed[gate]
        assert x1 >= 0 and x2 <= WIDTH and y1 >= 0 and y2 <= height, (gate, haloed[gate])
    assert not {n: b for n, b in haloed.items() if b[0] < 0 < b[2]}
    boxes = _boxes(positions, opening).values()
    assert 0 <= min(b[0] for b in boxes) <= 24 and 0 <= min(b[1] for b in boxes) <= 24
