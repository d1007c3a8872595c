"""Engine overhead per node, persistence included, against plain Python in the same run.

    python bench/engine.py [--sizes 100 1000] [--repeat 5]

Generated templates: 10 parallel chains of trivial python nodes returning scalars, each chain
starting at a small gated CSV source (gates confirmed by the confirm_high policy), joined at the
end by one node. The baseline calls the same functions in topological order in plain Python
(sources read with pandas). Build (template construction and validation) and execution (run
record, scheduling, worker threads, events in SQLite, evidence for the 10 source gates) are timed
apart; medians over --repeat runs, each run on a fresh store.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

import prodex_jupyter as px

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


def measure(size: int, repeat: int, folder: Path) -> dict[str, float]:
    per_chain = max(1, (size - CHAINS - 1) // CHAINS)
    module = write_module(folder, per_chain)
    builds, runs, bases = [], [], []
    expected = baseline(module, folder, per_chain)
    nodes = 0
    for r in range(repeat):
        t0 = time.perf_counter()
        tpl = build(module, folder, per_chain)
        t1 = time.perf_counter()
        run = tpl.run(store=folder / f"store-{size}-{r}", policy=px.confirm_high)
        run.wait(timeout=600)
        t2 = time.perf_counter()
        assert run.status == "completed", run.status
        assert run.value("joined") == expected
        nodes = len(tpl)
        t3 = time.perf_counter()
        baseline(module, folder, per_chain)
        t4 = time.perf_counter()
        builds.append(t1 - t0)
        runs.append(t2 - t1)
        bases.append(t4 - t3)
    b, e, p = (statistics.median(x) for x in (builds, runs, bases))
    return {
        "nodes": nodes,
        "build_s": b,
        "run_s": e,
        "plain_s": p,
        "build_us_per_node": b / nodes * 1e6,
        "overhead_us_per_node": (e - p) / nodes * 1e6,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "source.csv").write_text("a,b\n" + "".join(f"{i},{i % 7}\n" for i in range(50)))
        results = [measure(size, args.repeat, folder) for size in args.sizes]
    print(
        f"{'nodes':>6} {'build ms':>9} {'run ms':>9} {'plain ms':>9} "
        f"{'build µs/node':>14} {'overhead µs/node':>17}"
    )
    for r in results:
        print(
            f"{r['nodes']:>6} {r['build_s'] * 1e3:>9.1f} {r['run_s'] * 1e3:>9.1f} "
            f"{r['plain_s'] * 1e3:>9.2f} {r['build_us_per_node']:>14.0f} "
            f"{r['overhead_us_per_node']:>17.0f}"
        )
    if len(results) > 1:
        growth = results[-1]["overhead_us_per_node"] / results[0]["overhead_us_per_node"]
        print(
            f"overhead per node, {results[-1]['nodes']} vs {results[0]['nodes']} nodes: "
            f"x{growth:.2f} (flat is x1.0); target <= 200 µs per node"
        )


if __name__ == "__main__":
    main()
