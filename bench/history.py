"""Run history at scale: `px.runs()` over a store of 10,000 runs, `px.compare` of 500 outputs.

    python bench/history.py [--runs 10000] [--outputs 500] [--repeat 7] [--keep DIR]

The 10,000-run store is built through the store API, not by executing 10,000 runs: the demo
pipeline (examples/plant_kpis, 2 sources, 3 gates, 8 nodes) is executed for real three times
(one run completed, one completed_partial, one left waiting at a gate) and their events are
replayed as new runs with `RunStore.create_run` / `RunStore.append`, so every event is a real
payload, each run's hash chain is computed by the store as usual, and the index triggers fill as
they would. Runs cycle through the three shapes (80% completed, 15% completed_partial, 5% waiting),
and half the runs belong to a second pipeline id so `pipeline=` filtering has work to do.

Compare: one template with a gated CSV source and N outputs, 80% scalars (`sum(a) * i`) and 20%
tables (`k, a * i AS v, b`, 50 rows each), run twice against different input files, so every
output differs and every table needs a DuckDB cell-level diff. A second figure compares a
table-only template (all N outputs tables) as the worst case.

Medians over --repeat, each call cold on a fresh `RunStore` object (a new SQLite connection: no
cached pages, no cached folds), wall time and process CPU time (the machine's load average is
printed: other work on the machine inflates wall time).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import prodex_jupyter as px
from prodex_jupyter.store import RunCreated, RunStore

REPO = Path(__file__).resolve().parents[1]


CPU: dict[str, float] = {}  # median process CPU time per measurement: less sensitive to load


def median_time(fn, repeat: int, label: str) -> tuple[float, object]:
    """Median wall time over `repeat` calls; the median CPU time goes to CPU[label]."""
    times, cpu, result = [], [], None
    for _ in range(repeat):
        started, cpu_started = time.perf_counter(), time.process_time()
        result = fn()
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - cpu_started)
    CPU[label] = statistics.median(cpu)
    return statistics.median(times), result


# ------------------------------------------------------------------ 10k runs
def real_runs(store: RunStore, demo: Path) -> list[list]:
    """Three real runs of the demo: completed, completed_partial, waiting at a gate."""
    tpl = px.load_template(demo / "plant_kpis.prodex.yaml")
    shapes = []
    for shape in ("completed", "completed_partial", "waiting"):
        run = tpl.run(store=store, policy=px.confirm_high).wait(timeout=120)
        while shape != "waiting" and run.prompts:
            for gate in run.prompts[0].gates:
                if shape == "completed_partial" and gate.gate_id == "station_means_sanity":
                    run.reject(gate.gate_id, note="bench: means look off")
                else:
                    run.confirm(gate.gate_id, note="bench")
            run.wait(timeout=120)
        shapes.append([e.event for e in store.events(run.id)])
        print(f"  real run {run.id}: {run.status}, {len(shapes[-1])} events", flush=True)
    return shapes


def build_store(root: Path, n: int) -> RunStore:
    if (root / "store").exists() and len(RunStore(root / "store").run_ids()) >= n:
        print("  reusing the store built before (--keep)")
        return RunStore(root / "store")
    demo = root / "demo"
    shutil.copytree(REPO / "examples", demo, ignore=shutil.ignore_patterns("__pycache__"))
    store = RunStore(root / "store")
    shapes = real_runs(store, demo)
    mix = [0] * 16 + [1] * 3 + [2]  # 80% completed, 15% partial, 5% waiting
    started = time.perf_counter()
    for i in range(len(store.run_ids()), n):
        events = shapes[mix[i % len(mix)]]
        first = events[0]
        assert isinstance(first, RunCreated)
        if i % 2:
            first = dataclasses.replace(first, template_id="plant_kpis_b")
        run_id = store.create_run(first).run_id
        store.append(run_id, *events[1:])
        if i % 1000 == 0:
            print(f"  {i} runs written ({time.perf_counter() - started:.1f} s)", flush=True)
    return store


# ------------------------------------------------------------------ compare
def compare_runs(root: Path, outputs: int, table_share: float, name: str) -> tuple[str, str]:
    done = RunStore(root / "store").run_ids(name)
    if len(done) >= 2:
        return done[0], done[1]
    folder = root / name
    folder.mkdir()
    tables = int(outputs * table_share)
    tpl = px.Template(name, base_dir=folder)
    tpl.source(
        "t",
        "t.csv",
        gate={"gate_id": "g", "name": "G", "instructions": "- required columns: k, a, b"},
    )
    for i in range(outputs - tables):
        tpl.output(f"s{i}", sql=f"SELECT sum(a) * {i + 1} AS v FROM t")
    for i in range(tables):
        tpl.output(f"t{i}", sql=f"SELECT k, a * {i + 1} AS v, b FROM t ORDER BY k")
    store = RunStore(root / "store")
    ids = []
    for version in range(2):
        rows = [f"k{j},{j + version * (j % 7 == 0)},{j % 3}" for j in range(50)]
        (folder / "t.csv").write_text("k,a,b\n" + "\n".join(rows) + "\n")
        run = tpl.run(store=store).wait(timeout=300)
        run.confirm("g").wait(timeout=300)
        assert run.status == "completed", run.status
        ids.append(run.id)
    return ids[0], ids[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--outputs", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument(
        "--keep",
        type=Path,
        default=None,
        help="build the store here and keep it (reused next time)",
    )
    args = parser.parse_args(argv)
    root = args.keep or Path(tempfile.mkdtemp(prefix="prodex-history-"))
    root.mkdir(parents=True, exist_ok=True)
    print(f"store under {root}")

    started = time.perf_counter()
    store = build_store(root, args.runs)
    print(f"built {len(store.run_ids())} runs in {time.perf_counter() - started:.1f} s")

    print(f"load average before timing: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    t_all, table = median_time(lambda: px.runs(store=RunStore(store.root)), args.repeat, "all")
    t_pipe, piped = median_time(
        lambda: px.runs("plant_kpis", store=RunStore(store.root)), args.repeat, "pipeline"
    )
    t_status, partial = median_time(
        lambda: px.runs(status="completed_partial", store=RunStore(store.root)),
        args.repeat,
        "status",
    )
    print(
        f"px.runs() over {len(table)} runs: median {t_all * 1000:.0f} ms "
        f"(CPU {CPU['all'] * 1000:.0f} ms; target < 200 ms)"
    )
    print(f"px.runs('plant_kpis'): {len(piped)} runs, median {t_pipe * 1000:.0f} ms")
    print(f"px.runs(status='completed_partial'): {len(partial)} runs, {t_status * 1000:.0f} ms")
    counts = table["status"].value_counts().to_dict()
    print(f"  statuses: {counts}")

    results = {}
    for share, name in ((0.2, "mixed"), (1.0, "tables")):
        a, b = compare_runs(root, args.outputs, share, f"compare_{name}")
        t_cmp, cmp = median_time(
            lambda a=a, b=b: px.compare(a, b, store=RunStore(store.root)), args.repeat, name
        )
        diffs = cmp.tables
        changed = sum(not d.identical for d in diffs.values())
        results[name] = t_cmp
        print(
            f"px.compare of two runs with {len(cmp.outputs)} outputs ({len(diffs)} tables, "
            f"{changed} differing): median {t_cmp * 1000:.0f} ms "
            f"(CPU {CPU[name] * 1000:.0f} ms; target < 500 ms)"
        )
    if args.keep is None:
        shutil.rmtree(root, ignore_errors=True)
    ok = t_all < 0.2 and results["mixed"] < 0.5
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
