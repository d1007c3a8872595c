"""The run view's first paint: its header, canvas and Run Information drawn at once in plain
HTML and SVG, shown in the notebook while the browser builds the live ipycytoscape canvas, and
replaced by it when that canvas has painted its first frame (hydration).

Why: the browser creates every widget model of a view, one kernel message after the other,
before it draws the view, and cytoscape then styles and lays out the graph in one long task;
on a loaded machine that is a second or more after the cell ran. This HTML is one message,
sent before the widgets are made, so the graph is on screen in a fraction of that.

The same graph as the live canvas opens with (`view.canvas.canvas_plan`: the same groups
collapsed, the same positions, the same height and viewport, the node colours of the static
copy), so the swap shows no jump. The swap is done by a small script in the live output (a
notebook's own outputs are trusted, so JupyterLab runs it): it marks the output area
`prodex-hydrating` at once, which shows this first paint, and marks the live view's output as
soon as it is in the page, which keeps that laid out but invisible over the first paint; on the
first frame where the live canvas has drawn its nodes (or after HYDRATE_TIMEOUT) it removes
both marks. Without the script (another front end) the CSS shows nothing of this, and the view
behaves as before. The copy a notebook keeps (`view.static`) carries this HTML without its
script, shown only while its output area is hydrating: a saved notebook shows the static copy
alone, and no inline-script warning.
"""

from __future__ import annotations

from ..store import RunState
from .canvas import PADDING, CanvasPlan
from .graph_layout import NODE_H, NODE_W
from .run_info import gates_text
from .static import STATUS_TONE, chip, graph_svg_body, svg_frame
from .text import clock, esc

HYDRATE_TIMEOUT = 30.0  # s: the first paint gives way to the live view after this at most
TOOLBAR_H = 62  # px: the live canvas' toolbar and legend rows above it (one width of many)

STYLE = """
.prodex-first-paint { display: none; }
.jp-OutputArea.prodex-hydrating { position: relative; }
.prodex-hydrating .prodex-first-paint { display: block; }
.prodex-hydrating .prodex-static-run { display: none !important; }
/* the live view, laid out (cytoscape needs its size) but not seen until its canvas painted
   (the script marks its output; a `:has()` rule here would have the browser re-match it on
   every change of the view's DOM while it is built) */
.prodex-hydrating > .prodex-live-pending {
  position: absolute; top: 0; left: 0; right: 0; visibility: hidden; }
.prodex-first-paint { font-family: var(--jp-ui-font-family, system-ui, sans-serif);
  font-size: 13px; color: var(--jp-ui-font-color1, #1e293b); padding: 4px 0; }
.prodex-fp-header { line-height: 1.3; margin: 0 0 8px; }
.prodex-fp-title { font-size: 15px; font-weight: 600; }
.prodex-fp-subtitle { color: var(--jp-ui-font-color2, #475569); font-size: 12px;
  margin-left: 8px; }
.prodex-fp-top { display: flex; gap: 12px; flex-wrap: wrap; align-items: stretch; }
.prodex-fp-canvas { flex: 1 1 720px; min-width: 0; border: 1px solid
  var(--jp-border-color2, #cbd5e1); border-radius: 6px; overflow: hidden; }
.prodex-fp-toolbar { height: TOOLBARpx; }
.prodex-fp-canvas svg { display: block; width: 100%; background: var(--jp-layout-color0, #fff); }
.prodex-fp-info { flex: 0 0 260px; width: 260px; border: 1px solid
  var(--jp-border-color2, #cbd5e1); border-radius: 6px; padding: 8px 10px;
  box-sizing: border-box; }
.prodex-fp-panel-title { font-weight: 600; margin-bottom: 6px; }
.prodex-fp-row { margin: 2px 0 4px; }
.prodex-fp-info code { font-size: 11px; }
.prodex-fp-info .chip { display: inline-block; border-radius: 999px; padding: 0 8px;
  font-weight: 600; font-size: 12px; }
""".replace("TOOLBAR", str(TOOLBAR_H))

# Runs once, when JupyterLab puts the trusted output in the page (`document.currentScript` is
# this script then). Looks on every animation frame for the live canvas, then waits for its
# first drawn frame.
SCRIPT = """<script>(() => {
  const area = document.currentScript && document.currentScript.closest('.jp-OutputArea');
  if (!area) return;
  area.classList.add('prodex-hydrating');
  const t0 = performance.now();
  // The live view's output is marked the moment it enters the page (a mutation observer runs
  // before the next frame is drawn): never a frame with both.
  let live = null;
  const mark = () => {
    const view = live ? null : area.querySelector('.prodex-run-view');
    live = view ? view.closest('.jp-OutputArea-child') : live;
    if (live) { live.classList.add('prodex-live-pending'); observer.disconnect(); }
  };
  const observer = new MutationObserver(mark);
  observer.observe(area, {childList: true, subtree: true, attributeFilter: ['class']});
  const done = () => {
    observer.disconnect();
    area.classList.remove('prodex-hydrating');
    if (live) live.classList.remove('prodex-live-pending');
  };
  // Cytoscape says `render` when it has drawn a frame: the swap is made in that frame (no
  // reading its pixels back, which would stall the page).
  const frame = () => {
    const el = area.querySelector('.prodex-run-view .prodex-canvas');
    const cy = el && el._cyreg && el._cyreg.cy;
    if (cy) { cy.one('render', done); setTimeout(done, TIMEOUT); }
    else if (performance.now() - t0 > TIMEOUT) done();
    else requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);
})();</script>""".replace("TIMEOUT", str(int(HYDRATE_TIMEOUT * 1000)))


def first_paint_html(state: RunState, plan: CanvasPlan, *, hydrate: bool = True) -> str:
    """The first paint of `state`'s run view as `plan` opens its canvas; `hydrate`: with the
    script that swaps it for the live view (only in the output a kernel just sent). Its classes
    are its own (`prodex-fp-*`): the page holds it beside the live view's widgets."""
    description = str(state.template.get("description") or "")
    if len(description) > 160:
        description = description[:159] + "…"
    produced, total = len(state.results), len(state.nodes)
    info = "".join(
        f'<div class="prodex-fp-row">{row}</div>'
        for row in (
            chip(state.status, STATUS_TONE.get(state.status, "grey")),
            f"<b>{esc(gates_text(state))}</b>",
            f"Nodes produced: <b>{produced} / {total}</b>",
            f"Started: <b>{esc(clock(state.created_at))}</b>",
            f"Run <code>{esc(state.run_id)}</code>",
        )
    )
    return (
        f"<style>{STYLE}</style>"
        f'<div class="prodex-first-paint" data-run-id="{esc(state.run_id)}">'
        f'<div class="prodex-fp-header"><span class="prodex-fp-title">{esc(state.template_id)}'
        f'</span><span class="prodex-fp-subtitle">{esc(description)}</span></div>'
        '<div class="prodex-fp-top"><div class="prodex-fp-canvas">'
        f'<div class="prodex-fp-toolbar"></div>{canvas_first_svg(state, plan)}</div>'
        '<div class="prodex-fp-info"><div class="prodex-fp-panel-title">Run Information</div>'
        f"{info}</div></div></div>" + (SCRIPT if hydrate else "")
    )


def canvas_first_svg(state: RunState, plan: CanvasPlan) -> str:
    """The canvas as the live one opens: the drawn graph at the plan's viewport (fitted: the
    graph's box and padding scaled into the canvas, as cytoscape's fit does; else the preset
    layout's zoom and pan), at the canvas' height and the width it is given."""
    marker = f"prodex-fp-arrow-{state.run_id}"
    body = graph_svg_body(state, plan.folded, plan.layout, marker=marker)
    height = plan.height
    if plan.preset.get("fit"):
        xs = [x for x, _ in plan.layout.positions.values()] or [0.0]
        ys = [y for _, y in plan.layout.positions.values()] or [0.0]
        left, right = min(xs) - NODE_W / 2 - PADDING, max(xs) + NODE_W / 2 + PADDING
        top, bottom = min(ys) - NODE_H / 2 - 9 - PADDING, max(ys) + NODE_H / 2 + PADDING
        size = (
            f'width="100%" height="{height}" viewBox="{left:.1f} {top:.1f} '
            f'{right - left:.1f} {bottom - top:.1f}" preserveAspectRatio="xMidYMid meet"'
        )
        return svg_frame(state, size, body, "prodex-first-canvas", marker)
    zoom, pan = plan.preset["zoom"], plan.preset["pan"]
    content = (
        f'<g transform="translate({pan["x"]:.1f} {pan["y"]:.1f}) scale({zoom:.4g})">{body}</g>'
    )
    size = f'width="100%" height="{height}"'
    return svg_frame(state, size, content, "prodex-first-canvas", marker)
