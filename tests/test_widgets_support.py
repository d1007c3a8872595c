"""Templates and helpers for the widget tests (no tests here).

Small pipelines on CSV files written to tmp_path, each run stored in tmp_path: no browser,
no kernel. The widgets are driven through their traits and `Button.click()`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import prodex_jupyter as px

CLEAN = "- required columns: a, b\n- no nulls in a\n- a between -100 and 1000\n- at least 1 rows"
# Fails on purpose: a is never above 1000.
FAILING = "- required columns: a, b\n- a between 500 and 1000"


def write_csv(folder: Path, name: str, rows: int = 40) -> str:
    path = folder / name
    path.write_text("a,b\n" + "".join(f"{i},{i % 3}\n" for i in range(rows)))
    return name


def chain(folder: Path) -> px.Template:
    """t (gated, clean) -> big -> sums (gated) -> grand_total; t -> mean_a (python) -> mean_out."""
    tpl = px.Template("chain", "A small chain for widget tests.", base_dir=folder)
    tpl.source(
        "t",
        write_csv(folder, "t.csv"),
        explanation="raw rows",
        gate={
            "gate_id": "t_shape",
            "name": "T shape",
            "description": "Rows look right.",
            "instructions": CLEAN,
        },
    )
    tpl.sql("big", "SELECT * FROM t WHERE a >= 10", explanation="rows from 10 up")
    tpl.sql(
        "sums",
        "SELECT b, sum(a) AS total FROM big GROUP BY b ORDER BY b",
        explanation="totals per b",
        gate={"gate_id": "sums_ok", "name": "Sums sane", "instructions": "- at least 1 rows"},
    )
    tpl.output(
        "grand_total",
        sql="SELECT sum(total) AS grand FROM sums",
        explanation="the grand total of a from 10 up",
    )

    @tpl.python("mean_a", explanation="mean of a")
    def mean_a(t):
        return float(t["a"].mean())

    tpl.output("mean_out", of="mean_a", explanation="the mean of a")
    return tpl


def branches(folder: Path, n: int = 2, rows: int = 10) -> px.Template:
    """n independent gated sources (few rows: medium confidence), each with an output."""
    tpl = px.Template("branches", base_dir=folder)
    for i in range(n):
        tpl.source(
            f"s{i}",
            write_csv(folder, f"s{i}.csv", rows=rows),
            gate={"gate_id": f"g{i}", "name": f"Source {i} shape", "instructions": CLEAN},
        )
        tpl.output(f"out{i}", sql=f"SELECT count(*) AS n FROM s{i}")
    return tpl


def with_failure(folder: Path) -> px.Template:
    """A python node that raises, with a node downstream of it."""
    tpl = px.Template("broken", base_dir=folder)
    tpl.source(
        "t",
        write_csv(folder, "t.csv"),
        gate={"gate_id": "t_shape", "name": "T shape", "instructions": CLEAN},
    )

    @tpl.python("explode")
    def explode(t):
        raise ValueError("boom in a node")

    tpl.output("after", sql="SELECT * FROM explode")
    return tpl


def generated(folder: Path, n_nodes: int, *, lanes: int = 10, gate_every: int = 10) -> px.Template:
    """A pipeline of about n_nodes nodes shaped like real ones: `lanes` gated sources, each the
    head of a lane of SQL steps; every third step also joins the lane next to it; every
    `gate_every`-th step is gated; the last node of each lane (and a few more) are outputs."""
    tpl = px.Template(
        f"generated_{n_nodes}", f"A generated {n_nodes}-node pipeline.", base_dir=folder
    )
    heads: list[str] = []
    for i in range(lanes):
        write_csv(folder, f"src{i}.csv", rows=40)
        tpl.source(
            f"src{i}",
            f"src{i}.csv",
            gate={"gate_id": f"src{i}_shape", "name": f"Source {i}", "instructions": CLEAN},
        )
        heads.append(f"src{i}")
    n_outputs = max(lanes, n_nodes // 12)
    steps = n_nodes - lanes - n_outputs
    for k in range(steps):
        lane = k % lanes
        node_id = f"t{k:04d}"
        sql = f"SELECT a, b FROM {heads[lane]}"
        if k % 3 == 2:
            other = heads[(lane + 1) % lanes]
            sql = f"SELECT a, b FROM {heads[lane]} UNION ALL SELECT a, b FROM {other}"
        gate = None
        if k % gate_every == gate_every - 1:
            gate = {
                "gate_id": f"{node_id}_ok",
                "name": f"{node_id} sane",
                "instructions": "- at least 1 rows",
            }
        tpl.sql(node_id, sql + " LIMIT 50", gate=gate)
        heads[lane] = node_id
    for j in range(n_outputs):
        tpl.output(f"out{j:03d}", sql=f"SELECT count(*) AS n FROM {heads[j % lanes]}")
    return tpl


def until(predicate: Callable[[], object], timeout: float = 10.0, what: str = "") -> object:
    """Poll until predicate() is truthy (the view renders on its own, from event listeners)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or predicate}")
        time.sleep(0.02)
