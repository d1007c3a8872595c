"""Run All -> first paint of the run view for generated 200- and 500-node templates, in a real
JupyterLab in headless Chromium (the browser-test harness), against a bare ipycytoscape graph of
the same DAG as the baseline.

    python bench/canvas_paint.py [--sizes 200 500] [--repeat 3]

For each size the template (10 gated CSV sources heading lanes of SQL steps, every tenth step
gated, outputs at the lane ends; see tests/test_widgets_support.py) is written once as YAML with
its data. Each repetition opens a fresh notebook (fresh kernel) whose one cell loads it and
starts a run (`run = tpl.run(...)`, which displays the run view), clicks Run All and waits for
the first frame with every node painted (`measure_run_all_to_paint`). The cell prints its own
split: importing prodex_jupyter, loading the template, starting the run and building the view.
The baseline notebook imports ipycytoscape only and draws the same nodes and edges with dagre.

Then, on the run view: one Confirm click, and the time until the confirmed badge's class is on
the node in the page (a decision's round trip: click, kernel, event, incremental restyle).

Medians over --repeat, sizes and variants interleaved; results are printed and saved in
bench/results/canvas-paint-<time>.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from playwright.sync_api import sync_playwright  # noqa: E402

from tests.browser.jupyter_harness import (  # noqa: E402
    cell_output_text,
    launch_browser,
    measure_run_all_to_paint,
    new_notebook,
    open_notebook,
    start_jupyter_server,
    wait_for_idle,
)
from tests.test_widgets_support import generated  # noqa: E402

RUN_VIEW_CELL = """\
import time
_t0 = time.perf_counter()
import prodex_jupyter as px
_t1 = time.perf_counter()
tpl = px.load_template({template!r})
_t2 = time.perf_counter()
run = tpl.run(store={store!r})
_t3 = time.perf_counter()
print(f"kernel: import {{_t1 - _t0:.3f}}s, load {{_t2 - _t1:.3f}}s, run+view {{_t3 - _t2:.3f}}s")"""

BARE_CELL = """\
import time
_t0 = time.perf_counter()
import ipycytoscape
_t1 = time.perf_counter()
g = ipycytoscape.CytoscapeWidget()
g.graph.add_graph_from_json({graph!r}, directed=True)
g.set_layout(name="dagre", rankDir="LR")
g.add_class("bench-bare")
display(g)
print(f"kernel: import {{_t1 - _t0:.3f}}s, build {{time.perf_counter() - _t1:.3f}}s")"""

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


def prepare(root: Path, n: int) -> tuple[str, dict]:
    folder = root / f"gen_{n}"
    folder.mkdir(parents=True, exist_ok=True)
    tpl = generated(folder, n)
    path = folder / f"generated_{n}.prodex.yaml"
    tpl.save(path)
    graph = {
        "nodes": [{"data": {"id": node_id, "label": node_id}} for node_id in tpl.nodes],
        "edges": [
            {"data": {"source": up, "target": node_id}}
            for node_id in tpl.nodes
            for up in tpl[node_id].upstream
        ],
    }
    return str(path), graph


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[200, 500])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    base = Path(tempfile.mkdtemp(prefix="canvas-paint-"))
    server = start_jupyter_server(base / "jupyter")
    results: dict[str, list[dict]] = {}
    try:
        prepared = {n: prepare(server.root_dir, n) for n in args.sizes}
        with sync_playwright() as pw:
            context = launch_browser(pw, base / "profile")
            context.set_default_timeout(60_000)
            for rep in range(args.repeat):
                for n in args.sizes:
                    template, graph = prepared[n]
                    for variant in ("run_view", "bare"):
                        page = context.new_page()
                        try:
                            if variant == "run_view":
                                store = str(base / f"store-{n}-{rep}")
                                cell = RUN_VIEW_CELL.format(template=template, store=store)
                                selector = ".prodex-canvas"
                            else:
                                cell = BARE_CELL.format(graph=graph)
                                selector = ".bench-bare"
                            nb = new_notebook(server, [cell])
                            open_notebook(page, server, nb)
                            timing = measure_run_all_to_paint(
                                page, min_nodes=n, selector=selector, timeout=120
                            )
                            wait_for_idle(page, timeout=120)
                            timing.update(_kernel_split(cell_output_text(page, 0)))
                            if variant == "run_view":
                                page.wait_for_selector(
                                    ".prodex-gate-card.prodex-prompt .prodex-confirm"
                                )
                                page.wait_for_timeout(300)
                                # the first card's first gate, on node <node>_shape / <node>_ok
                                gate = page.evaluate(
                                    "() => [...document.querySelector("
                                    "'.prodex-gate-card.prodex-prompt').classList]"
                                    ".find(c => c.startsWith('prodex-gate-') &&"
                                    " c !== 'prodex-gate-card').slice(12)"
                                )
                                node = gate.rsplit("_", 1)[0]
                                timing["confirm_to_restyle"] = page.evaluate(
                                    _JS_CLICK_TO_CLASS, [node]
                                )
                        finally:
                            page.close()
                            server.delete_all_sessions()
                        results.setdefault(f"{variant}-{n}", []).append(timing)
                        print(f"rep {rep + 1} {variant:8s} {n:4d} nodes: {timing}", flush=True)
            context.close()
    finally:
        server.stop()

    summary = {}
    print("\nmedians (seconds):")
    for key, runs in results.items():
        keys = sorted({k for r in runs for k in r if r[k] is not None})
        med = {
            k: round(statistics.median(r[k] for r in runs if r.get(k) is not None), 3) for k in keys
        }
        summary[key] = med
        print(f"  {key:14s} Run All -> paint {med['paint']:.2f}  {med}")
    out = REPO / "bench" / "results" / f"canvas-paint-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps({"repeat": args.repeat, "runs": results, "medians": summary}, indent=1)
    )
    print(f"saved {out}")


if __name__ == "__main__":
    main()
