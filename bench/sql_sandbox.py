"""What the SQL sandbox costs per SQL node, against the unlocked DuckDB it replaced, same run.

    python bench/sql_sandbox.py [--nodes 100] [--repeat 9] [--calls 2000]

Two figures, each sandboxed ("after") against unlocked ("before": a plain cursor of an in-memory
DuckDB, no statement check: what runtime/compute.py did before the sandbox), interleaved so the
machine's load moves both alike:

- engine: a chain of --nodes SQL nodes (`SELECT a + 1 AS a, b FROM <previous>`, 50 rows) after
  one gated CSV source confirmed by the policy, run end to end on a fresh store; per SQL node =
  (run of the chain - run of a one-node chain made just before it) / (nodes - 1), median.
- call: one node's query alone (register the upstream table, run, fetch Arrow), median µs.

The sandboxed database is locked once per store and process, so what a node pays is the
statement check (`duckdb.extract_statements`) and whatever the locked settings cost DuckDB.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from unittest import mock

import duckdb
import pyarrow as pa

import prodex_jupyter as px
from prodex_jupyter.runtime import scheduler
from prodex_jupyter.runtime.sql_sandbox import SqlSandbox

RESULTS = Path(__file__).resolve().parent / "results"
GATE = "- required columns: a, b\n- at least 1 rows"


class Unlocked:
    """The 'before': template SQL in a plain cursor of an unlocked in-memory DuckDB."""

    def __init__(self) -> None:
        self.database = duckdb.connect()

    def query(
        self,
        node_id: str,
        kind: str,
        sql: str,
        upstream: dict[str, pa.Table],
        on_query: Callable[[duckdb.DuckDBPyConnection], None] | None = None,
    ) -> pa.Table:
        cursor = self.database.cursor()
        try:
            for name, table in upstream.items():
                cursor.register(name, table)
            if on_query is not None:
                on_query(cursor)
            return cursor.sql(sql).to_arrow_table()
        finally:
            cursor.close()


def chain(folder: Path, nodes: int) -> px.Template:
    tpl = px.Template("sql_chain", base_dir=folder)
    tpl.source("s", "source.csv", gate={"gate_id": "g", "name": "S", "instructions": GATE})
    previous = "s"
    for i in range(nodes):
        tpl.sql(f"q{i}", f"SELECT a + 1 AS a, b FROM {previous}")
        previous = f"q{i}"
    tpl.output("total", sql=f"SELECT sum(a) AS total FROM {previous}")
    return tpl.validate()


def one_run(folder: Path, nodes: int, tag: str, unlocked: Unlocked | None) -> float:
    tpl = chain(folder, nodes)
    patch = (
        mock.patch.object(scheduler, "sandbox_for", lambda _root: unlocked)
        if unlocked is not None
        else mock.patch.object(scheduler, "sandbox_for", scheduler.sandbox_for)
    )
    with patch:
        started = time.perf_counter()
        run = tpl.run(store=folder / f"store-{tag}", policy=px.confirm_high)
        run.wait(timeout=600)
        seconds = time.perf_counter() - started
    assert run.status == "completed", (run.status, run.state.nodes)
    assert run.value("total") == sum(range(50)) + 50 * nodes
    return seconds


def per_call(sandbox: SqlSandbox | Unlocked, table: pa.Table, calls: int) -> float:
    times = []
    for _ in range(calls):
        t0 = time.perf_counter()
        sandbox.query("q", "sql", "SELECT a + 1 AS a, b FROM up", {"up": table})
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args()
    per_node: dict[str, list[float]] = {"before": [], "after": []}
    call: dict[str, list[float]] = {"before": [], "after": []}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "source.csv").write_text("a,b\n" + "".join(f"{i},{i % 7}\n" for i in range(50)))
        unlocked = Unlocked()
        sandboxed = SqlSandbox(folder / "artifacts")
        table = pa.table({"a": list(range(50)), "b": [i % 7 for i in range(50)]})
        for mode in ("before", "after"):  # warm-up
            one_run(folder, args.nodes, f"warm-{mode}", unlocked if mode == "before" else None)
        for r in range(args.repeat):
            for mode in ("before", "after") if r % 2 == 0 else ("after", "before"):
                how = unlocked if mode == "before" else None
                short = one_run(folder, 1, f"{mode}-1-{r}", how)
                long = one_run(folder, args.nodes, f"{mode}-{args.nodes}-{r}", how)
                per_node[mode].append((long - short) / (args.nodes - 1))
                engine = unlocked if mode == "before" else sandboxed
                call[mode].append(per_call(engine, table, args.calls // args.repeat))
    med = {k: statistics.median(v) * 1e6 for k, v in per_node.items()}
    med_call = {k: statistics.median(v) for k, v in call.items()}
    print(f"medians of {args.repeat} interleaved rounds, chain of {args.nodes} SQL nodes")
    print(f"{'':>8} {'per SQL node, engine µs':>24} {'one query alone µs':>19}")
    for mode in ("before", "after"):
        print(f"{mode:>8} {med[mode]:>24.0f} {med_call[mode]:>19.0f}")
    print(
        f"sandbox costs {med['after'] - med['before']:+.0f} µs per SQL node in the engine "
        f"(x{med['after'] / med['before']:.2f}), {med_call['after'] - med_call['before']:+.0f} "
        f"µs per query alone (x{med_call['after'] / med_call['before']:.2f})"
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"sql_sandbox-{time.strftime('%Y%m%d-%H%M%S')}.json"
    report = {
        "nodes": args.nodes,
        "repeat": args.repeat,
        "per_sql_node_us": med,
        "per_query_us": med_call,
        "all_per_node_s": per_node,
        "all_per_query_us": call,
    }
    out.write_text(json.dumps(report, indent=2))
    print(f"full figures: {out.relative_to(RESULTS.parent.parent)}")


if __name__ == "__main__":
    main()
