"""The aggregate pass's statement: one, or for a small Parquet file several on two threads.

A small Parquet file is read on the checker's one-thread database (checks/gather.py), so a
single statement uses one core of two. DuckDB reads Parquet column by column, so the pass's
aggregates can be shared between statements, each on a cursor of its own and read on one
thread, in the file's order: every figure is the single statement's, sums included, where
DuckDB's worker threads would split the row groups between them (sums added in an order that
changes from run to run, and 15 MiB more at 1M rows). `ParquetPass` starts the profile's
counts, minimums and maximums on a second thread as soon as the columns are known, while this
thread reads the head and prepares the checks; the histograms and the checks' aggregates are
then shared between both threads by weight: a histogram (a hash map of text values) three,
any other aggregate one (over 1M rows here a histogram took 7 ms, a range check's count about
3 ms beyond reading its column). A known-set join stays on this thread: its table is this
cursor's own.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import duckdb

from prodex_jupyter.checks.query import fetch_one

HISTOGRAM_WEIGHT = 3


def aggregate_pass(
    con: duckdb.DuckDBPyConnection, exprs: list[tuple[str, str]], from_sql: str
) -> dict[str, Any]:
    """The pass's one row, by alias, from one statement."""
    return fetch_one(con, _select(exprs, from_sql))


class ParquetPass:
    """The pass over a Parquet file read on the one-thread database, on two threads.

    `early`: aggregates known before the head is read (the profile's counts, minimums and
    maximums), started at once on the second thread over `from_sql` (the file, no joins).
    `close` must follow, whatever happens: it waits for the second thread."""

    def __init__(
        self, con: duckdb.DuckDBPyConnection, from_sql: str, early: list[tuple[str, str]]
    ) -> None:
        self._con = con
        self._other = con.cursor()  # sees the file; not this cursor's temporary tables
        self._from = from_sql
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="prodex-pass")
        self._early = {alias for alias, _ in early}
        self._started = [self._pool.submit(self._fetch, early)] if early else []

    def finish(self, exprs: list[tuple[str, str]], from_sql: str, *, joins: bool) -> dict[str, Any]:
        """The pass's one row, by alias, for `exprs` (the early ones among them): the rest read
        here over `from_sql` (with its joins, if any), or shared with the second thread."""
        late = [e for e in exprs if e[0] not in self._early]
        here, there = (late, []) if joins else _shared(late)
        parts: list[Future[dict[str, Any]]] = [*self._started]
        if there:
            parts.append(self._pool.submit(self._fetch, there))
        try:
            row = aggregate_pass(self._con, here, from_sql) if here else {}
            for part in parts:
                row.update(part.result())
        except duckdb.Error:
            # A file that cannot be read fails in whichever statement meets the damage first:
            # the single statement says what it always said (or, should it pass, gives the row).
            return aggregate_pass(self._con, exprs, from_sql)
        return {alias: row[alias] for alias, _ in exprs}

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        self._other.close()

    def _fetch(self, exprs: list[tuple[str, str]]) -> dict[str, Any]:
        return fetch_one(self._other, _select(exprs, self._from))


def _shared(exprs: list[tuple[str, str]]) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Two groups of about equal weight, the heaviest shared first, each in the pass's order."""
    weights = [HISTOGRAM_WEIGHT if sql.startswith("histogram(") else 1 for _, sql in exprs]
    load = [0, 0]
    group = [0] * len(exprs)
    for i in sorted(range(len(exprs)), key=lambda i: -weights[i]):  # stable: ties in order
        group[i] = 0 if load[0] <= load[1] else 1
        load[group[i]] += weights[i]
    return (
        [e for e, g in zip(exprs, group, strict=True) if g == 0],
        [e for e, g in zip(exprs, group, strict=True) if g == 1],
    )


def _select(exprs: list[tuple[str, str]], from_sql: str) -> str:
    return f"SELECT {', '.join(f'{sql} AS {alias}' for alias, sql in exprs)} FROM {from_sql}"
