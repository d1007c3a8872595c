"""The JupyterLab extension at scale, in a real JupyterLab in headless Chromium (the browser-test
harness), each figure against a baseline measured in the same run (the last two, bound by the
front end's polling, against its poll interval):

- Pipelines sidebar with 10,000 runs in the store: click on its tab -> the template's first page
  of runs drawn. Baseline: the same sidebar over a store of 40 runs (a second server).
- Runs list over 10,000 runs: command -> first rows drawn (every run fetched, rows virtualized).
  Baseline: the same over 40 runs.
- Run panel of a 500-node run: command -> first frame painted with the 500 nodes (goal <= 1.5 s).
  Baseline: the run panel of the 7-node demo run.
- Decision -> checkmark on that panel: click on Confirm -> the node carries the confirmed class
  (goal <= 0.3 s), and -> `Gates resolved` redrawn from the new record. Baseline: one request
  round trip from the page (GET /api/status).
- A run started elsewhere -> its row visible in the Pipelines sidebar under its template (the
  sidebar open over the big store): from just before POST /prodex/api/runs, as another client
  starts it, until the frame after the row is drawn; also from the run's creation as recorded
  (the record's `created`: the run in the store), and the POST's own time. Baseline: the
  sidebar's poll interval (REFRESH_MS in labextension/src/sidebar.ts) against the figure from the
  creation: the sidebar learns of a run only by polling, so a ratio near 0.5 is the poll's phase
  plus little, 1 a whole poll, above 1 the poll's own work (a poll waits REFRESH_MS after the
  previous one's answers).
- A decision made outside the page -> checkmark on the open run panel: from the start of
  `prodex confirm` (a process of its own, as the browser test runs it) until the node carries
  the confirmed class; also from the decision as recorded (its `at`), and the command's own run
  time (the process exits after the panel may already show it). Baseline: the run panel's poll
  interval (REFRESH_MS in labextension/src/runPanel.ts), against the figure from the record.

These figures are taken on the wall clock (time.time() in Python, Date.now() in the page, the
record's timestamps: the same clock on this machine). The browser tests assert only that these
happen (within a generous bound); how soon is measured here.

    python bench/lab_panel.py [--runs 10000] [--nodes 500] [--repeat 5] [--keep DIR]

The 10,000-run store is built as bench/history.py builds it (three real runs of the demo whose
events are replayed as new runs through the store API). The 500-node template is the generated
one of bench/canvas_paint.py. Medians over --repeat; results are printed and saved in
bench/results/lab-panel-<time>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from history import build_store  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

from tests.browser.jupyter_harness import (  # noqa: E402
    JupyterServer,
    launch_browser,
    start_jupyter_server,
)
from tests.test_widgets_support import generated  # noqa: E402

# JS: start a timer, run a command (not awaited), then poll each animation frame until `ready`
# (a JS expression over `document`) holds; resolves with ms, measured on the page's clock.
_JS_TIME_UNTIL = """
async ([command, args, ready, timeoutMs]) => {
  const test = new Function('return (' + ready + ');');
  const t0 = performance.now();
  if (command) window.jupyterapp.commands.execute(command, args);
  return await new Promise((resolve) => {
    const frame = () => {
      let ok = false;
      try { ok = test(); } catch (e) { ok = false; }
      const now = performance.now();
      if (ok) {
        // The frame after the state is in the DOM / in cytoscape is the painted one.
        requestAnimationFrame(() => resolve(performance.now() - t0));
        return;
      }
      if (now - t0 > timeoutMs) { resolve(null); return; }
      requestAnimationFrame(frame);
    };
    frame();
  });
}
"""

_JS_CY_NODES = (
    "(() => {{ const h = document.querySelector('#prodex-run-{run} .jp-prodex-cy');"
    " return !!(h && h._cyreg && h._cyreg.cy.nodes().length >= {n}); }})()"
)

_JS_CLICK_CONFIRM_UNTIL = """
async ([runId, gateId, nodeId, timeoutMs]) => {
  const panel = document.querySelector(`#prodex-run-${runId}`);
  const card = panel.querySelector(`.jp-prodex-prompt[data-gates~="${gateId}"]`);
  const header = panel.querySelector('.jp-prodex-run-header .jp-prodex-gates-resolved');
  const before = header.textContent;
  const cy = panel.querySelector('.jp-prodex-cy')._cyreg.cy;
  const t0 = performance.now();
  card.querySelector('.jp-prodex-confirm').click();
  const out = {check: null, header: null};
  return await new Promise((resolve) => {
    const frame = () => {
      const now = performance.now();
      if (out.check === null && cy.getElementById(nodeId).hasClass('g-confirmed')) {
        out.check = now - t0;
      }
      if (out.header === null && header.isConnected && header.textContent !== before) {
        out.header = now - t0;
      }
      const h = panel.querySelector('.jp-prodex-run-header .jp-prodex-gates-resolved');
      if (out.header === null && h && h.textContent !== before) out.header = now - t0;
      if ((out.check !== null && out.header !== null) || now - t0 > timeoutMs) {
        resolve(out);
        return;
      }
      requestAnimationFrame(frame);
    };
    frame();
  });
}
"""

# JS: remember the rows of `pipeline`'s runs in the sidebar now, then poll each animation frame
# for a visible row of another run; records its run id and the wall clock of the frame after it.
_JS_WATCH_NEW_ROW = """
([pipeline, timeoutMs]) => {
  const rows = () => [...document.querySelectorAll(
    `.jp-prodex-template[data-pipeline="${pipeline}"] .jp-prodex-run`)];
  const before = new Set(rows().map((r) => r.dataset.prodexRun));
  const t0 = performance.now();
  window.__prodexSeen = null;
  const frame = () => {
    const row = rows().find((r) => !before.has(r.dataset.prodexRun) && r.offsetParent !== null);
    if (row) {
      requestAnimationFrame(() => {
        window.__prodexSeen = {id: row.dataset.prodexRun, at: Date.now()};
      });
      return;
    }
    if (performance.now() - t0 > timeoutMs) { window.__prodexSeen = {id: null, at: null}; return; }
    requestAnimationFrame(frame);
  };
  frame();
}
"""

# JS: poll each animation frame until the node of the run panel carries `cls`; records the wall
# clock of the frame after it.
_JS_WATCH_CLASS = """
([runId, nodeId, cls, timeoutMs]) => {
  const cy = document.querySelector(`#prodex-run-${runId} .jp-prodex-cy`)._cyreg.cy;
  const t0 = performance.now();
  window.__prodexSeen = null;
  const frame = () => {
    if (cy.getElementById(nodeId).hasClass(cls)) {
      requestAnimationFrame(() => { window.__prodexSeen = {at: Date.now()}; });
      return;
    }
    if (performance.now() - t0 > timeoutMs) { window.__prodexSeen = {at: null}; return; }
    requestAnimationFrame(frame);
  };
  frame();
}
"""

_JS_ROUND_TRIP = """
async () => {
  const t0 = performance.now();
  await fetch('/api/status', {cache: 'no-store'});
  return performance.now() - t0;
}
"""


def refresh_ms(source: str) -> int:
    """The poll interval of a front-end module (labextension/src/<source>), as it is built."""
    text = (REPO / "labextension" / "src" / source).read_text()
    return int(re.search(r"const REFRESH_MS = (\d+);", text).group(1))


def start(base: Path, store: Path) -> JupyterServer:
    os.environ["PRODEX_HOME"] = str(store)
    try:
        return start_jupyter_server(base)
    finally:
        os.environ.pop("PRODEX_HOME", None)


def open_lab(page, server: JupyterServer) -> None:
    page.goto(f"{server.url}/lab/workspaces/b{uuid.uuid4().hex[:8]}?reset")
    page.wait_for_selector('.jp-SideBar [data-id="prodex-pipelines"]', timeout=60_000)
    page.wait_for_timeout(500)


def time_sidebar(page, server: JupyterServer, pipeline: str) -> float:
    open_lab(page, server)
    ready = (
        f'document.querySelectorAll(\'.jp-prodex-template[data-pipeline="{pipeline}"]'
        " .jp-prodex-run').length >= 10"
    )
    ms = page.evaluate(_JS_TIME_UNTIL, ["prodex:show-workspace", {}, ready, 60_000])
    assert ms is not None, "sidebar never drew the runs"
    return ms / 1000


def time_runs_list(page, server: JupyterServer) -> float:
    open_lab(page, server)
    ready = (
        "document.querySelectorAll('.jp-prodex-runs-list .jp-prodex-virtual .jp-prodex-run')"
        ".length >= 10"
    )
    ms = page.evaluate(_JS_TIME_UNTIL, ["prodex:open-runs-list", {}, ready, 120_000])
    assert ms is not None, "runs list never drew rows"
    return ms / 1000


def start_waiting_run(server: JupyterServer, template: str) -> dict:
    """A run of `template` whose first gates are posed (so its panel has a prompt to confirm)."""
    run_id = server.api("POST", "/prodex/api/runs", {"template": template})["run_id"]
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        record = server.api("GET", f"/prodex/api/runs/{run_id}")
        pending = [g for g in record["gates"] if g["status"] == "pending"]
        if pending and not record["executing"]:
            return {"run_id": run_id, "gate": pending[0], "nodes": len(record["nodes"])}
        time.sleep(0.5)
    raise AssertionError(f"run {run_id} never reached a gate")


def seen(page, timeout_s: float = 90) -> dict:
    """What the page's watcher (_JS_WATCH_*) recorded, once it has."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        out = page.evaluate("window.__prodexSeen")
        if out is not None:
            return out
        page.wait_for_timeout(50)
    raise AssertionError("the page's watcher never answered")


def time_new_run_row(page, server: JupyterServer, pipeline: str, template: str) -> dict:
    """On the open sidebar: a run started by another client -> its row drawn (wall seconds from
    the POST's start and from its answer, and the POST's own time)."""
    page.wait_for_timeout(1500)  # the sidebar's first polls done
    page.evaluate(_JS_WATCH_NEW_ROW, [pipeline, 60_000])
    t0 = time.time()
    run_id = server.api("POST", "/prodex/api/runs", {"template": template})["run_id"]
    t1 = time.time()
    out = seen(page)
    assert out["id"] == run_id, f"sidebar drew {out}, expected the new run {run_id}"
    at = out["at"] / 1000
    created = datetime.fromisoformat(server.api("GET", f"/prodex/api/runs/{run_id}")["created"])
    return {"from_start": at - t0, "from_record": at - created.timestamp(), "post": t1 - t0}


def time_cli_decision(page, server: JupyterServer, store: Path, run: dict) -> dict[str, float]:
    """On the open run panel: `prodex confirm` in a process of its own -> the node confirmed
    (wall seconds from the command's start and from the decision's record, and the command's
    run time)."""
    gate = run["gate"]
    page.wait_for_selector(
        f'#prodex-run-{run["run_id"]} .jp-prodex-prompt[data-gates~="{gate["gate_id"]}"]'
    )
    page.wait_for_timeout(1500)  # the panel's first polls done
    page.evaluate(_JS_WATCH_CLASS, [run["run_id"], gate["node_id"], "g-confirmed", 60_000])
    prodex = Path(sys.executable).parent / "prodex"
    command = [prodex, "--store", store, "confirm", run["run_id"], gate["gate_id"]]
    t0 = time.time()
    done = subprocess.run([*command, "--note", "bench"], capture_output=True, text=True)
    t1 = time.time()
    assert done.returncode == 0, done.stdout + done.stderr
    out = seen(page)
    assert out["at"] is not None, f"node {gate['node_id']} of {run['run_id']} never confirmed"
    at = out["at"] / 1000
    record = server.api("GET", f"/prodex/api/runs/{run['run_id']}")
    decided = next(g for g in record["gates"] if g["gate_id"] == gate["gate_id"])
    written = datetime.fromisoformat(decided["decisions"][-1]["at"]).timestamp()
    return {"from_start": at - t0, "from_record": at - written, "command": t1 - t0}


def show_panel(page, run: dict) -> float:
    """Open (or bring forward) the run's panel; ms until its canvas holds every node."""
    ready = _JS_CY_NODES.format(run=run["run_id"], n=run["nodes"])
    ms = page.evaluate(_JS_TIME_UNTIL, ["prodex:open-run", {"runId": run["run_id"]}, ready, 60_000])
    assert ms is not None, f"run panel of {run['run_id']} never painted"
    return ms


def time_panel(page, server: JupyterServer, run: dict) -> float:
    open_lab(page, server)
    return show_panel(page, run) / 1000


def time_decision(page, run: dict) -> dict[str, float]:
    page.wait_for_selector(
        f'#prodex-run-{run["run_id"]} .jp-prodex-prompt[data-gates~="{run["gate"]["gate_id"]}"]'
    )
    out = page.evaluate(
        _JS_CLICK_CONFIRM_UNTIL,
        [run["run_id"], run["gate"]["gate_id"], run["gate"]["node_id"], 30_000],
    )
    assert out["check"] is not None, f"no checkmark: {out}"
    return {k: (v / 1000 if v is not None else None) for k, v in out.items()}


def median(xs: list[float]) -> float:
    return round(statistics.median(xs), 3)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--nodes", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--keep", type=Path, default=None, help="build the stores here, reuse them")
    args = parser.parse_args(argv)
    root = args.keep or Path(tempfile.mkdtemp(prefix="prodex-lab-bench-"))
    root.mkdir(parents=True, exist_ok=True)
    print(f"folder: {root}  (load average {os.getloadavg()[0]:.1f})", flush=True)

    print(f"building the {args.runs:,}-run store and the 40-run store", flush=True)
    big = build_store(root / "big", args.runs).root
    small = build_store(root / "small", 40).root
    servers = {}
    for name, store in (("big", big), ("small", small)):
        base = root / f"server-{name}"
        shutil.rmtree(base, ignore_errors=True)
        (base / "root").mkdir(parents=True)
        shutil.copytree(REPO / "examples", base / "root" / "demo")
        if name == "big":
            folder = base / "root" / "gen"
            folder.mkdir()
            generated(folder, args.nodes).save(folder / f"generated_{args.nodes}.prodex.yaml")
        servers[name] = start(base, store)

    figures: dict[str, list] = {
        k: []
        for k in (
            "sidebar_10k",
            "sidebar_40",
            "runs_list_10k",
            "runs_list_40",
            "panel_big",
            "panel_demo",
            "decision_check",
            "decision_header",
            "round_trip",
            "new_run_row",
            "new_run_row_after_record",
            "new_run_post",
            "cli_decision_check",
            "cli_decision_after_record",
            "cli_command",
        )
    }
    try:
        with sync_playwright() as pw:
            context = launch_browser(pw, root / f"profile-{uuid.uuid4().hex[:6]}")
            context.set_default_timeout(60_000)
            page = context.new_page()
            big_server = servers["big"]
            for i in range(args.repeat):
                figures["sidebar_10k"].append(time_sidebar(page, big_server, "plant_kpis"))
                demo_yaml = "demo/plant_kpis.prodex.yaml"
                new = time_new_run_row(page, big_server, "plant_kpis", demo_yaml)
                figures["new_run_row"].append(new["from_start"])
                figures["new_run_row_after_record"].append(new["from_record"])
                figures["new_run_post"].append(new["post"])
                figures["sidebar_40"].append(time_sidebar(page, servers["small"], "plant_kpis"))
                figures["runs_list_10k"].append(time_runs_list(page, big_server))
                figures["runs_list_40"].append(time_runs_list(page, servers["small"]))
                gen = start_waiting_run(big_server, f"gen/generated_{args.nodes}.prodex.yaml")
                demo = start_waiting_run(big_server, demo_yaml)
                figures["panel_demo"].append(time_panel(page, big_server, demo))
                figures["panel_big"].append(time_panel(page, big_server, gen))
                page.wait_for_timeout(1500)  # let the panel settle (first polls) before clicking
                decision = time_decision(page, gen)
                figures["decision_check"].append(decision["check"])
                if decision["header"] is not None:
                    figures["decision_header"].append(decision["header"])
                figures["round_trip"].append(page.evaluate(_JS_ROUND_TRIP) / 1000)
                show_panel(page, demo)  # its panel again (open_lab left it), then decide by CLI
                cli = time_cli_decision(page, big_server, big, demo)
                figures["cli_decision_check"].append(cli["from_start"])
                figures["cli_decision_after_record"].append(cli["from_record"])
                figures["cli_command"].append(cli["command"])
                print(
                    f"  round {i + 1}: "
                    + ", ".join(f"{k} {v[-1]:.3f}" for k, v in figures.items() if v),
                    flush=True,
                )
            context.close()
    finally:
        for server in servers.values():
            server.stop()

    m = {k: median(v) for k, v in figures.items() if v}
    sidebar_poll, panel_poll = refresh_ms("sidebar.ts") / 1000, refresh_ms("runPanel.ts") / 1000
    report = {
        "runs": args.runs,
        "nodes": args.nodes,
        "repeat": args.repeat,
        "medians_s": m,
        "ratios": {
            "sidebar_10k_over_40": round(m["sidebar_10k"] / m["sidebar_40"], 2),
            "runs_list_10k_over_40": round(m["runs_list_10k"] / m["runs_list_40"], 2),
            "panel_big_over_demo": round(m["panel_big"] / m["panel_demo"], 2),
            "decision_check_over_round_trip": round(m["decision_check"] / m["round_trip"], 1),
            "new_run_row_after_record_over_sidebar_poll": round(
                m["new_run_row_after_record"] / sidebar_poll, 2
            ),
            "cli_decision_after_record_over_panel_poll": round(
                m["cli_decision_after_record"] / panel_poll, 2
            ),
        },
        "baselines_s": {"sidebar_poll": sidebar_poll, "run_panel_poll": panel_poll},
        "goals": {
            "panel_big_le_1.5s": m["panel_big"] <= 1.5,
            "decision_check_le_0.3s": m["decision_check"] <= 0.3,
        },
        "samples_s": figures,
        "load_average": os.getloadavg()[0],
    }
    shown = ("medians_s", "ratios", "baselines_s", "goals", "load_average")
    print(json.dumps({k: report[k] for k in shown}, indent=2))
    out = REPO / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"lab-panel-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(report, indent=2))
    print(f"saved {path}")
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
