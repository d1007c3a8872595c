"""Cell -> first paint of the run view on a warm kernel, for the example run and generated
200- and 500-node templates, in a real JupyterLab in headless Chromium (the browser-test
harness), against a bare ipycytoscape graph of the same DAG as the baseline.

    python bench/canvas_paint.py [--sizes example 200 500] [--repeat 3] [--before DIR [DIR ...]]

`example` is examples/plant_kpis.prodex.yaml (7 nodes); a number is a generated template (10
gated CSV sources heading lanes of SQL steps, every tenth step gated, outputs at the lane ends;
see tests/test_widgets_support.py), written once as YAML with its data. Each repetition opens a
fresh notebook (fresh kernel) of two cells: the first (run alone, not timed) imports
prodex_jupyter and loads the template, so the kernel is warm; the second starts a run
(`run = tpl.run(...)`, which displays the run view) and is timed from the moment it is asked to
run until two frames:
- `paint`: the first frame with the graph painted, every drawn node of it. The run view's output
  first shows its first paint (prodex_jupyter/view/first_paint.py: the same graph, positions and
  viewport as the live canvas, in plain HTML and SVG), then the live canvas in its place;
- `interactive`: the first frame with the live ipycytoscape canvas painted and shown (the first
  paint gone), clickable (`measure_cell_to_paint`'s figure).
For bare ipycytoscape (and code from before the first paint) the two are the same frame. A
big graph opens with chains of steps collapsed into groups (prodex_jupyter/view/groups.py), so
its canvas draws fewer nodes. The cells print their kernel-side split.
The baseline notebook imports ipycytoscape in its first cell; its second draws the same nodes and
edges (all of them) with dagre. `--before DIR ...` adds the run view of the code in each DIR
(e.g. `git archive main prodex_jupyter | tar -x -C DIR`), put first on the kernel's sys.path,
as variants `before`, `before2`, ... in the same rounds.

Then, on the run view: one Confirm click, and the time until the confirmed badge's class is on
the node in the page (a decision's round trip: click, kernel, event, incremental restyle).

Medians over --repeat, sizes and variants interleaved, ratios against the baseline paired per
round; results are printed and saved in bench/results/canvas-paint-<time>.json.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from playwright.sync_api import sync_playwright  # noqa: E402

import prodex_jupyter as px  # noqa: E402
from prodex_jupyter.view.canvas import canvas_groups, fold_state  # noqa: E402
from tests.browser.jupyter_harness import (  # noqa: E402
    cell_output_text,
    launch_browser,
    measure_cell_to_paint,
    new_notebook,
    open_notebook,
    run_cell,
    start_jupyter_server,
    wait_for_idle,
)
from tests.test_widgets_support import generated  # noqa: E402

WARM_CELL = """\
import sys, time
{path}_t0 = time.perf_counter()
import prodex_jupyter as px
_t1 = time.perf_counter()
tpl = px.load_template({template!r})
print(f"kernel: import {{_t1 - _t0:.3f}}s, load {{time.perf_counter() - _t1:.3f}}s")"""

RUN_VIEW_CELL = """\
_t0 = time.perf_counter()
run = tpl.run(store={store!r})
print(f"kernel: run+view {{time.perf_counter() - _t0:.3f}}s")"""

BARE_WARM_CELL = """\
import time
_t0 = time.perf_counter()
import ipycytoscape
graph = {graph!r}
print(f"kernel: import {{time.perf_counter() - _t0:.3f}}s")"""

BARE_CELL = """\
_t0 = time.perf_counter()
g = ipycytoscape.CytoscapeWidget()
g.graph.add_graph_from_json(graph, directed=True)
g.set_layout(name="dagre", rankDir="LR")
g.add_class("bench-bare")
display(g)
print(f"kernel: build {{time.perf_counter() - _t0:.3f}}s")"""
# Beside the harness' watch (the live canvas): the first frame where the run view's first paint
# shows the graph's drawn nodes, and the first where the live canvas is painted and no output
# area is hydrating any more (the first paint gone). Page clock, checked on every frame.
_JS_FIRST_PAINT_WATCH = """
([minNodes, timeoutMs]) => {
  const w = {firstAt: null, liveAt: null};
  window.__benchFirst = w;
  const t0 = performance.now();
  const painted = (c) => {
    if (!c || !c.width || !c.height) return false;
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    for (let i = 3; i < d.length; i += 28) { if (d[i] !== 0) return true; }
    return false;
  };
  const frame = () => {
    const now = performance.now();
    if (w.firstAt === null) {
      for (const svg of document.querySelectorAll('.prodex-first-paint svg')) {
        const r = svg.getBoundingClientRect();
        if (r.width > 0 && r.height > 0 && svg.querySelectorAll('g.node').length >= minNodes) {
          w.firstAt = now;
        }
      }
    }
    const el = document.querySelector('.prodex-run-view .prodex-canvas');
    const cy = el && el._cyreg && el._cyreg.cy;
    if (cy && !document.querySelector('.prodex-hydrating') &&
        painted(el.querySelector('canvas[data-id="layer2-node"]'))) {
      w.liveAt = now;
      return;
    }
    if (now - t0 < timeoutMs) requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);
}
"""

# Time from a click on the first Confirm to the confirmed class on its node in the page.
_JS_CLICK_TO_CLASS = """
async ([nodeId]) => {
  const cy = document.querySelector('.prodex-canvas')._cyreg.cy;
  const button = document.querySelector('.prodex-gate-card.prodex-prompt .prodex-confirm');
  const t0 = performance.now();
  button.click();
  return await new Promise((resolve) => {
    const poll = () => {
      if (cy.getElementById(nodeId).hasClass('g-confirmed')) {
        resolve((performance.now() - t0) / 1000);
      } else if (performance.now() - t0 > 30000) { resolve(null); }
      else { requestAnimationFrame(poll); }
    };
    poll();
  });
}
"""


def _kernel_split(text: str) -> dict[str, float]:
    out = {}
    for part in text.split("kernel:", 1)[-1].split(","):
        name, _, value = part.strip().partition(" ")
        if value.endswith("s"):
            out[name] = float(value[:-1])
    return out


def prepare(root: Path, size: str) -> dict:
    """The template's YAML path, its DAG for the baseline, and how many nodes each canvas
    draws when it opens (the run view's groups collapsed)."""
    folder = root / f"tpl_{size}"
    if size == "example":
        shutil.copytree(REPO / "examples", folder)
        path = folder / "plant_kpis.prodex.yaml"
        tpl = px.load_template(path)
    else:
        folder.mkdir(parents=True, exist_ok=True)
        tpl = generated(folder, int(size))
        path = folder / f"generated_{size}.prodex.yaml"
        tpl.save(path)
    graph = {
        "nodes": [{"data": {"id": node_id, "label": node_id}} for node_id in tpl.nodes],
        "edges": [
            {"data": {"source": up, "target": node_id}}
            for node_id in tpl.nodes
            for up in tpl[node_id].upstream
        ],
    }
    run = tpl.run(store=str(root / f"probe_{size}"))
    run.wait(timeout=120)
    state = run.state
    return {
        "template": str(path),
        "graph": graph,
        "drawn": len(fold_state(state, canvas_groups(state), set()).order),
        "nodes": len(tpl.nodes),
        "gate_nodes": {node.gate_id: n for n, node in state.nodes.items() if node.gate_id},
    }


def one(page, server, base: Path, variant: str, size: str, rep: int, spec: dict, before: dict):
    if variant == "bare":
        cells = [BARE_WARM_CELL.format(graph=spec["graph"]), BARE_CELL.format()]
        selector, min_nodes = ".bench-bare", spec["nodes"]
    else:
        path = f"sys.path.insert(0, {before[variant]!r})\n" if variant in before else ""
        store = str(base / f"store-{variant}-{size}-{rep}")
        cells = [
            WARM_CELL.format(path=path, template=spec["template"]),
            RUN_VIEW_CELL.format(store=store),
        ]
        selector = ".prodex-canvas"
        min_nodes = spec["drawn"]  # code without groups draws more: painted once it has these
    nb = new_notebook(server, cells)
    open_notebook(page, server, nb)
    run_cell(page, 0, timeout=120)
    if variant != "bare":
        page.evaluate(_JS_FIRST_PAINT_WATCH, [min_nodes, 120_000])
    timing = measure_cell_to_paint(page, 1, min_nodes=min_nodes, selector=selector, timeout=120)
    wait_for_idle(page, timeout=120)
    timing["interactive"] = timing["paint"]
    if variant != "bare":
        page.wait_for_function("() => window.__benchFirst.liveAt !== null", timeout=120_000)
        first = page.evaluate(
            "() => ({...window.__benchFirst, at: window.__harnessPaint.runAllAt})"
        )
        live = round((first["liveAt"] - first["at"]) / 1000, 3)
        timing["interactive"] = max(live, timing["paint"])
        if first["firstAt"] is not None:
            timing["paint"] = min(round((first["firstAt"] - first["at"]) / 1000, 3), live)
    timing["drawn"] = min_nodes
    timing.update(_kernel_split(cell_output_text(page, 0)))
    timing.update(_kernel_split(cell_output_text(page, 1)))
    if variant != "bare":
        page.wait_for_selector(".prodex-gate-card.prodex-prompt .prodex-confirm")
        page.wait_for_timeout(300)
        # the first card's first gate, and the node it is on
        gate = page.evaluate(
            "() => [...document.querySelector("
            "'.prodex-gate-card.prodex-prompt').classList]"
            ".find(c => c.startsWith('prodex-gate-') &&"
            " c !== 'prodex-gate-card').slice(12)"
        )
        node = spec["gate_nodes"][gate]
        timing["confirm_to_restyle"] = page.evaluate(_JS_CLICK_TO_CLASS, [node])
    return timing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", nargs="+", default=["example", "200", "500"])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--before", nargs="+", default=[], help="checkouts of the code to compare with (e.g. main)"
    )
    args = parser.parse_args()

    base = Path(tempfile.mkdtemp(prefix="canvas-paint-"))
    server = start_jupyter_server(base / "jupyter")
    results: dict[str, list[dict]] = {}
    before = {f"before{i + 1 if i else ''}": path for i, path in enumerate(args.before)}
    variants = ["run_view", "bare", *before]
    try:
        prepared = {size: prepare(server.root_dir, size) for size in args.sizes}
        with sync_playwright() as pw:
            context = launch_browser(pw, base / "profile")
            context.set_default_timeout(60_000)
            for rep in range(args.repeat):
                for size in args.sizes:
                    for variant in variants:
                        page = context.new_page()
                        try:
                            timing = one(
                                page, server, base, variant, size, rep, prepared[size], before
                            )
                        finally:
                            page.close()
                            server.delete_all_sessions()
                        timing["loadavg"] = float(Path("/proc/loadavg").read_text().split()[0])
                        results.setdefault(f"{variant}-{size}", []).append(timing)
                        print(f"rep {rep + 1} {variant:8s} {size:>7s}: {timing}", flush=True)
            context.close()
    finally:
        server.stop()

    summary: dict[str, dict] = {}
    print(
        "\nmedians (seconds from the cell asked to run, warm kernel; paint = first frame with"
        " the graph painted, interactive = the live canvas painted and shown):"
    )
    for key, runs in results.items():
        keys = sorted({k for r in runs for k in r if r[k] is not None})
        med = {
            k: round(statistics.median(r[k] for r in runs if r.get(k) is not None), 3) for k in keys
        }
        summary[key] = med
        print(f"  {key:16s} paint {med['paint']:.3f} interactive {med['interactive']:.3f}  {med}")
    print("\nratios against bare ipycytoscape, paired per round (median):")
    for size in args.sizes:
        bare = results.get(f"bare-{size}", [])
        for variant in variants[:1] + variants[2:]:
            ours = results.get(f"{variant}-{size}", [])
            for figure in ("paint", "interactive"):
                ratios = [o[figure] / b[figure] for o, b in zip(ours, bare, strict=False)]
                if ratios:
                    ratio = round(statistics.median(ratios), 3)
                    summary[f"{variant}-{size}"][f"{figure}_ratio_to_bare"] = ratio
                    rounds = [round(r, 2) for r in ratios]
                    print(f"  {variant}-{size} {figure}: x{ratio}  (rounds: {rounds})")
    if before:
        print("\nthe run view against each `--before` code, paired per round (median):")
    for size in args.sizes:
        ours = results.get(f"run_view-{size}", [])
        for variant in before:
            theirs = results.get(f"{variant}-{size}", [])
            pairs = zip(ours, theirs, strict=False)
            ratios = [o["interactive"] / t["interactive"] for o, t in pairs]
            if ratios:
                ratio = round(statistics.median(ratios), 3)
                summary[f"run_view-{size}"][f"interactive_ratio_to_{variant}"] = ratio
                rounds = [round(r, 2) for r in ratios]
                print(f"  run_view-{size} interactive / {variant}: x{ratio}  (rounds: {rounds})")
    out = REPO / "bench" / "results" / f"canvas-paint-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps({"repeat": args.repeat, "runs": results, "medians": summary}, indent=1)
    )
    print(f"saved {out}")


if __name__ == "__main__":
    main()
