"""The aggregate pass's statement: one, or for a small Parquet file two running at once.

A small Parquet file is read on the checker's one-thread database (checks/gather.py), so its
pass uses one core of two. DuckDB reads Parquet column by column: shared between two
statements, each on a cursor and a thread of its own, the aggregates read their columns at
the same time on both cores (a column that both statements name is read by both). Each
statement still reads every row in the file's order on one thread, so every figure is the
single statement's, sums included, where DuckDB's worker threads would split the row groups
between them (sums added in an order that changes from run to run, and 15 MiB more at 1M rows).
The histograms (hash maps of text values) take one statement and everything else the other:
on the 1M-row file of bench/evidence.py, three histograms and the rest (counts, minimum and
maximum of a number and a timestamp, a range check) are about half of the pass each, and the
histograms read only the text columns, which the rest mostly does not.
"""

from __future__ import annotations

import threading
from typing import Any

import duckdb

from prodex_jupyter.checks.query import fetch_one


def aggregate_pass(
    con: duckdb.DuckDBPyConnection,
    exprs: list[tuple[str, str]],
    from_sql: str,
    *,
    split: bool = False,
) -> dict[str, Any]:
    """The pass's one row, by alias: one statement, or with `split` two running at once.

    To split, `from_sql` must read a file (no temporary table or registered data: another
    cursor sees neither). A failure is raised as the first statement's, else the second's."""
    first, second = _shared(exprs) if split else (exprs, [])
    if not second:
        return fetch_one(con, _select(first, from_sql))
    other = con.cursor()
    out: dict[str, Any] = {}

    def run() -> None:
        try:
            out["row"] = fetch_one(other, _select(second, from_sql))
        except duckdb.Error as exc:
            out["error"] = exc

    thread = threading.Thread(target=run, name="prodex-pass")
    thread.start()
    try:
        row = fetch_one(con, _select(first, from_sql))
    finally:
        thread.join()
        other.close()
    if "error" in out:
        raise out["error"]
    row.update(out["row"])
    return {alias: row[alias] for alias, _ in exprs}


def _shared(exprs: list[tuple[str, str]]) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """The histograms, and the other aggregates, each in the pass's order."""
    histograms = [e for e in exprs if e[1].startswith("histogram(")]
    others = [e for e in exprs if not e[1].startswith("histogram(")]
    return (histograms, others) if histograms else (others, [])


def _select(exprs: list[tuple[str, str]], from_sql: str) -> str:
    return f"SELECT {', '.join(f'{sql} AS {alias}' for alias, sql in exprs)} FROM {from_sql}"
