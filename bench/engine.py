"""Engine overhead per node, persistence included, against plain Python in the same run.

    python bench/engine.py [--sizes 100 1000] [--repeat 9]

Generated templates: 10 parallel chains of trivial python nodes returning scalars, each chain
starting at a small gated CSV source (gates confirmed by the confirm_high policy), joined at the
end by one node. The baseline calls the same functions in topological order in plain Python
(sources read with pandas). Build (template construction and validation) and execution (run
record, scheduling, worker threads, events in SQLite and their checkpoint into the database file,
evidence for the 10 source gates) are timed apart; medians over --repeat rounds, sizes interleaved
(smaller sizes several times a round), each run on a fresh store. Wall clock and process CPU time
(every thread) are both reported: other tenants of a shared machine move the first much more.

Two figures per size: overhead per node over the whole run, and per python node once the fixed
part (the 10 gated sources with their evidence, and the join: the same at every size) is taken
out: the median, over pairs of runs made one after the other, of (sized run - fixed-part run)
per added node, the fixed part being a template of chains of length 1.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

import prodex_jupyter as px

RESULTS = Path(__file__).resolve().parent / "results"
CHAINS = 10
GATE = "- required columns: a, b\n- no nulls in a\n- a between -100 and 1000\n- at least 1 rows"


def write_module(folder: Path, per_chain: int) -> object:
    """Real functions in a real file, so derivation code is their source, as for users."""
    lines = ["from __future__ import annotations", ""]
    for c in range(CHAINS):
        lines += [f"def c{c}_0(s{c}):", "    return len(s" + str(c) + ")", ""]
        for i in range(1, per_chain):
            lines += [f"def c{c}_{i}(c{c}_{i - 1}):", f"    return c{c}_{i - 1} + 1", ""]
    params = ", ".join(f"c{c}_{per_chain - 1}" for c in range(CHAINS))
    lines += [f"def joined({params}):", f"    return sum(({params}))", ""]
    path = folder / f"generated_{per_chain}.py"
    path.write_text("\n".join(lines))
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    spec.loader.exec_module(module)
    return module


def build(module: object, folder: Path, per_chain: int) -> px.Template:
    tpl = px.Template("bench", base_dir=folder)
    for c in range(CHAINS):
        tpl.source(
            f"s{c}", "source.csv", gate={"gate_id": f"g{c}", "name": f"S{c}", "instructions": GATE}
        )
        for i in range(per_chain):
            tpl.python_node(f"c{c}_{i}", function=getattr(module, f"c{c}_{i}"))
    tpl.python_node("joined", function=module.joined)
    tpl.validate()
    return tpl


def baseline(module: object, folder: Path, per_chain: int) -> int:
    values = {}
    for c in range(CHAINS):
        values[f"s{c}"] = pd.read_csv(folder / "source.csv")
        for i in range(per_chain):
            up = f"s{c}" if i == 0 else f"c{c}_{i - 1}"
            values[f"c{c}_{i}"] = getattr(module, f"c{c}_{i}")(values[up])
    return module.joined(*(values[f"c{c}_{per_chain - 1}"] for c in range(CHAINS)))


def one(module: object, folder: Path, per_chain: int, tag: str) -> tuple[float, ...]:
    """Build, run and baseline once: (build s, run s, plain s, nodes, run cpu s, plain cpu s).

    CPU seconds are the process's, every thread included: other tenants of a shared machine
    slow the wall clock far more than they change the CPU time the engine spends."""
    t0 = time.perf_counter()
    tpl = build(module, folder, per_chain)
    t1, c1 = time.perf_counter(), time.process_time()
    run = tpl.run(store=folder / f"store-{tag}", policy=px.confirm_high)
    run.wait(timeout=600)
    run.store.log.checkpoint()  # the WAL's copy into the database file is persistence too
    t2, c2 = time.perf_counter(), time.process_time()
    assert run.status == "completed", run.status
    expected = baseline(module, folder, per_chain)
    assert run.value("joined") == expected
    t3, c3 = time.perf_counter(), time.process_time()
    baseline(module, folder, per_chain)
    t4, c4 = time.perf_counter(), time.process_time()
    return t1 - t0, t2 - t1, t4 - t3, len(tpl), c2 - c1, c4 - c3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "source.csv").write_text("a,b\n" + "".join(f"{i},{i % 7}\n" for i in range(50)))
        # per_chain 1 is the fixed part: 10 gated sources (read, stored, evidence) and the join
        shapes = {1: 1, **{size: max(1, (size - CHAINS - 1) // CHAINS) for size in args.sizes}}
        modules = {pc: write_module(folder, pc) for pc in shapes.values()}
        for pc, module in modules.items():  # warm-up: imports, first DuckDB use, parsing
            one(module, folder, pc, f"warm-{pc}")
        samples: dict[int, list[tuple[float, ...]]] = {k: [] for k in shapes}
        pairs: dict[int, list[tuple[float, float]]] = {size: [] for size in args.sizes}
        # Each sized run is paired with a fixed-part run just before it: the per-node figure is
        # the median of these paired differences, so slow drifts of the machine's load cancel.
        # Small sizes get more pairs (their difference is tens of milliseconds, not hundreds).
        for r in range(args.repeat):
            for size in args.sizes:
                for k in range(max(1, 500 // size)):
                    fixed_run = one(modules[1], folder, 1, f"1-{size}-{r}-{k}")
                    sized = one(modules[shapes[size]], folder, shapes[size], f"{size}-{r}-{k}")
                    samples[1].append(fixed_run)
                    samples[size].append(sized)
                    grown = sized[3] - fixed_run[3]
                    pairs[size].append(
                        (
                            ((sized[1] - fixed_run[1]) - (sized[2] - fixed_run[2])) / grown,
                            ((sized[4] - fixed_run[4]) - (sized[5] - fixed_run[5])) / grown,
                        )
                    )
    med = {
        key: [statistics.median(x[i] for x in rows) for i in range(6)]
        for key, rows in samples.items()
    }
    fixed = med[1]
    print(
        f"medians of {args.repeat}+ interleaved runs; fixed part = 10 gated sources + join "
        f"({fixed[3]:.0f} nodes): run {fixed[1] * 1e3:.1f} ms (cpu {fixed[4] * 1e3:.1f}), "
        f"plain {fixed[2] * 1e3:.2f} ms"
    )
    print(
        f"{'nodes':>6} {'build ms':>9} {'run ms':>9} {'plain ms':>9} {'build µs/node':>14} "
        f"{'overhead µs/node':>17} {'per python node µs':>19} {'  (cpu µs)':>10}"
    )
    per_node, per_node_cpu = {}, {}
    for size in args.sizes:
        b, e, p, n, _, _ = med[size]
        per_node[size] = statistics.median(d[0] for d in pairs[size]) * 1e6
        per_node_cpu[size] = statistics.median(d[1] for d in pairs[size]) * 1e6
        print(
            f"{n:>6.0f} {b * 1e3:>9.1f} {e * 1e3:>9.1f} {p * 1e3:>9.2f} {b / n * 1e6:>14.0f} "
            f"{(e - p) / n * 1e6:>17.0f} {per_node[size]:>19.0f} {per_node_cpu[size]:>10.0f}"
        )
    if len(args.sizes) > 1:
        lo, hi = args.sizes[0], args.sizes[-1]
        print(
            f"per python node, {hi} vs {lo} nodes: x{per_node[hi] / per_node[lo]:.2f} wall, "
            f"x{per_node_cpu[hi] / per_node_cpu[lo]:.2f} cpu (flat is x1.0); "
            "target <= 50 µs per node"
        )
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"engine-{time.strftime('%Y%m%d-%H%M%S')}.json"
    fields = ("build_s", "run_s", "plain_s", "nodes", "run_cpu_s", "plain_cpu_s")
    report = {
        "repeat": args.repeat,
        "medians": {str(k): dict(zip(fields, v, strict=True)) for k, v in med.items()},
        "per_python_node_us": per_node,
        "per_python_node_cpu_us": per_node_cpu,
        "all": {str(k): rows for k, rows in samples.items()},
        "pairs_per_node_s": {str(k): rows for k, rows in pairs.items()},
    }
    out.write_text(json.dumps(report, indent=2))
    print(f"full figures: {out.relative_to(RESULTS.parent.parent)}")


if __name__ == "__main__":
    main()
