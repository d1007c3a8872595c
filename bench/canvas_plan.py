"""The run view's opening plan in the kernel, for generated 200- and 1000-node runs: what is
computed before anything of a big graph is drawn (the groups to fold, the folded graph, its
layout and viewport: `view.canvas.canvas_plan`), and the chain folding alone (`chain_groups`).

    python bench/canvas_plan.py [--sizes 200 1000] [--rounds 9] [--calls 5] [--before DIR]

The runs are generated as in tests/test_widgets_support.py `generated` (10 gated CSV sources
heading lanes of SQL steps, every tenth step gated, outputs at the lane ends), run to their
gates once and read back from the store. Each round times every variant in a fresh process
(the code of this checkout, and with `--before DIR` the code of DIR, e.g.
`git archive main prodex_jupyter | tar -x -C DIR`), in alternating order: the median over
--calls calls of wall and process CPU time. Figures are medians over rounds, the ratios paired
per round; the load average is printed (other work on the machine inflates wall time). Both
variants must fold the same groups.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

CHILD = """
import json, statistics, sys, time
from prodex_jupyter.store import RunStore
from prodex_jupyter.view.canvas import canvas_groups, canvas_plan
from prodex_jupyter.view.groups import chain_groups

store, calls = RunStore(sys.argv[1]), int(sys.argv[2])
out = {}
for size, run_id in json.loads(sys.argv[3]).items():
    state = store.state(run_id)
    nodes = state.nodes
    upstream = {n: nodes[n].upstream for n in nodes}

    def plain(node_id):
        return nodes[node_id].kind in ("sql", "python") and not nodes[node_id].gate_id

    jobs = {
        "plan": lambda: canvas_plan(state),
        "chain_groups": lambda: chain_groups(list(nodes), upstream, plain),
    }
    for name, job in jobs.items():
        job()  # warm
        wall, cpu = [], []
        for _ in range(calls):
            started, cpu_started = time.perf_counter(), time.process_time()
            job()
            wall.append(time.perf_counter() - started)
            cpu.append(time.process_time() - cpu_started)
        out[f"{size} {name}"] = [statistics.median(wall), statistics.median(cpu)]
    out[f"{size} groups"] = [[g.id, list(g.members)] for g in canvas_groups(state)]
print(json.dumps(out))
"""


def build_runs(root: Path, sizes: list[int]) -> dict[str, str]:
    """Generated runs of each size, run to their gates: size -> run id."""
    sys.path.insert(0, str(REPO))
    import prodex_jupyter as px
    from tests.test_widgets_support import generated

    store = px.RunStore(root / ".prodex")
    runs = {}
    for size in sizes:
        folder = root / f"g{size}"
        folder.mkdir()
        run = generated(folder, size).run(store=store)
        run.wait(timeout=600)
        runs[str(size)] = run.id
        print(f"  {size}-node run {run.id}: {len(run.state.nodes)} nodes", flush=True)
    return runs


def measure(code: Path, root: Path, runs: dict[str, str], calls: int) -> dict:
    env = {**os.environ, "PYTHONPATH": str(code)}
    args = [sys.executable, "-c", CHILD, str(root / ".prodex"), str(calls), json.dumps(runs)]
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=True, cwd=code)
    return json.loads(done.stdout)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[200, 1000])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--calls", type=int, default=5)
    parser.add_argument("--before", type=Path, default=None, help="code to compare with")
    args = parser.parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="prodex-canvas-plan-"))
    runs = build_runs(root, args.sizes)
    variants = {"now": REPO, **({"before": args.before.resolve()} if args.before else {})}
    print(f"load average before timing: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    rounds: list[dict[str, dict]] = []
    for i in range(args.rounds):
        names = list(variants) if i % 2 == 0 else list(variants)[::-1]
        rounds.append({name: measure(variants[name], root, runs, args.calls) for name in names})
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    for size in map(str, args.sizes):
        for job in ("plan", "chain_groups"):
            key = f"{size} {job}"
            line = []
            for name in variants:
                wall = statistics.median(r[name][key][0] for r in rounds)
                cpu = statistics.median(r[name][key][1] for r in rounds)
                line.append(f"{name} {wall * 1e3:7.2f} ms wall {cpu * 1e3:7.2f} ms CPU")
            if "before" in variants:
                ratio = statistics.median(r["now"][key][1] / r["before"][key][1] for r in rounds)
                line.append(f"CPU now/before x{ratio:.3f}")
            print(f"{key:>18}: " + " | ".join(line))
        if "before" in variants:
            same = all(r["now"][f"{size} groups"] == r["before"][f"{size} groups"] for r in rounds)
            print(f"{size:>5} nodes: the same groups as before: {same}")
    stamp = time.strftime("%Y%m%d-%H%M%S")
    out = REPO / "bench" / "results" / f"canvas-plan-{stamp}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"runs": runs, "rounds": rounds}, indent=1))
    print(f"saved {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
