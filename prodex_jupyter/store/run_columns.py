"""The runs list column by column, as Arrow arrays: what `px.runs()` builds its DataFrame from.

Reading 100,000 summary rows through a DB-API driver makes 900,000 Python objects, most of the
time `px.runs()` took; asking the database for each column apart costs it a pass per column.
So each summary row carries its list line (`line`, a column the database generates from the
row's own columns: the FIELDS below joined by U+001F), and the whole list comes back as ONE
string, the lines joined by the same separator (`group_concat` in SQLite, `string_agg` in
PostgreSQL). Arrow splits it and takes every eighth piece per column: no Python object per value.
The rows are then put newest first by Arrow (created_at, then run_id, both descending), whatever
order the database read them in.

A value holding the separator itself (a template or file name with a U+001F in it) would make
more pieces than FIELDS times the runs: then the list is read row by row instead, column by
column, so the result is exact either way.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

SEP = "\x1f"  # the ASCII unit separator

# What a line holds, in order; `gates` is the list's "k / n".
FIELDS = ("run_id", "template_id", "fingerprint", "created_at", "status", "last_at", "gates")
FIELDS += ("inputs",)

_NEWEST_FIRST = [("created_at", "descending"), ("run_id", "descending")]


def line_sql(sep: str, gates: str, inputs: str) -> str:
    """The SQL of the generated `line` column: FIELDS joined by `sep` (the dialect's U+001F)."""
    parts = [*FIELDS[:6], gates, inputs]
    return f" || {sep} || ".join(parts)


def assemble(count: int, text: str | None, read_rows: Callable[[], list[tuple]]) -> pa.Table:
    """The list as a table, newest first, from `count` lines joined into `text` (SQLite gives
    them oldest first, its table being clustered by start; PostgreSQL in its heap's order: sorted
    here whenever not in order); `read_rows()` reads the same runs one by one, FIELDS per row (the
    separator case)."""
    k = len(FIELDS)
    pieces = pa.array([], pa.string())
    if count:
        pieces = pc.split_pattern(pa.array([text], pa.string()), SEP).values
    if len(pieces) == k * count:  # the last line's fields first: newest first if oldest came first
        columns = [pieces.take(np.arange(k * count - k + i, -1, -k)) for i in range(k)]
    else:
        rows = read_rows()
        columns = [pa.array([r[i] for r in rows], pa.string()) for i in range(k)]
    table = pa.table(dict(zip(FIELDS, columns, strict=True)))
    return table if _newest_first(table) else table.sort_by(_NEWEST_FIRST)


def _newest_first(table: pa.Table) -> bool:
    """Is every run before the next one by (created_at, run_id), descending? (Three comparisons
    over the columns: cheaper than sorting what is already in order.)"""
    if len(table) < 2:
        return True
    start, run = table["created_at"], table["run_id"]
    before, after = start.slice(0, len(table) - 1), start.slice(1)
    later = pc.greater(before, after)
    tie_broken = pc.and_(
        pc.equal(before, after), pc.greater(run.slice(0, len(table) - 1), run.slice(1))
    )
    return bool(pc.all(pc.or_(later, tie_broken)).as_py())
