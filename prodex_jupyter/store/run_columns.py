"""The runs list column by column, as Arrow arrays: what `px.runs()` builds its DataFrame from.

Reading 100,000 summary rows through a DB-API driver makes 900,000 Python objects, most of the
time `px.runs()` took; asking the database for each column apart costs it a pass per column.
So each summary row carries its list line (`line`, a column the database generates from the
row's own columns: the FIELDS below joined by U+001F), and the whole list comes back as ONE
value, the lines joined by newlines. Arrow's CSV reader (U+001F as delimiter, no quoting) cuts
it into typed columns in one pass: strings sharing one buffer per column, the two times already
parsed; no Python object per value, and no second pass to pick the fields apart.

A value holding the separator or a line break itself (a template or file name with a U+001F or a
newline in it) makes a line of more or fewer fields, which the reader refuses; a carriage
return, which it would take for a line end, is looked for first. Then the list is read row by
row instead, column by column, so the result is exact either way.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as csv

SEP = "\x1f"  # the ASCII unit separator, between a line's fields; lines end with "\n"

# What a line holds, in order; `gates` is the list's "k / n".
FIELDS = ("run_id", "template_id", "fingerprint", "created_at", "status", "last_at", "gates")
FIELDS += ("inputs",)

UTC = pa.timestamp("us", tz="UTC")  # events are stamped in UTC, to the microsecond
_TYPES = {name: UTC if name in ("created_at", "last_at") else pa.string() for name in FIELDS}
SCHEMA = pa.schema(list(_TYPES.items()))

NEWEST_FIRST = [("created_at", "descending"), ("run_id", "descending")]

_PARSE = csv.ParseOptions(
    delimiter=SEP, quote_char=False, double_quote=False, escape_char=False, ignore_empty_lines=False
)
_CONVERT = csv.ConvertOptions(
    column_types=_TYPES, strings_can_be_null=False, quoted_strings_can_be_null=False
)


def line_sql(sep: str, gates: str, inputs: str) -> str:
    """The SQL of the generated `line` column: FIELDS joined by `sep` (the dialect's U+001F)."""
    parts = [*FIELDS[:6], gates, inputs]
    return f" || {sep} || ".join(parts)


def assemble(
    count: int, data: bytes | str | None, read_rows: Callable[[], list[tuple]]
) -> pa.Table:
    """The list as a table (SCHEMA), newest first, from `count` lines joined by newlines into
    `data` (in any order: sorted here unless already newest first); `read_rows()` reads the same
    runs one by one, FIELDS per row (the case of a value holding a separator)."""
    if not count:
        return SCHEMA.empty_table()
    raw = data.encode() if isinstance(data, str) else data
    table = _parsed(raw) if raw and b"\r" not in raw else None
    if table is None or table.num_rows != count:
        rows = read_rows()
        columns = [pa.array([r[i] for r in rows], pa.string()) for i in range(len(FIELDS))]
        table = pa.table(dict(zip(FIELDS, columns, strict=True))).cast(SCHEMA)
    if in_order(table, newest_first=True):
        return table
    if in_order(table, newest_first=False):  # PostgreSQL's heap, rows written as runs start
        return table.take(np.arange(len(table) - 1, -1, -1))
    return table.sort_by(NEWEST_FIRST)


def _parsed(raw: bytes) -> pa.Table | None:
    """The lines cut into typed columns, or None when a line has more or fewer fields. Two
    blocks of at least 1 MiB, read on two threads: the same CPU time as one, about half the wall
    time when a second core is free."""
    size = min(max(len(raw) // 2 + 1, 1 << 20), 1 << 30)
    options = csv.ReadOptions(column_names=FIELDS, block_size=size)
    try:
        return csv.read_csv(
            pa.BufferReader(raw),
            read_options=options,
            parse_options=_PARSE,
            convert_options=_CONVERT,
        )
    except pa.ArrowInvalid:
        return None


def in_order(table: pa.Table, *, newest_first: bool) -> bool:
    """Is every run before the next one by (created_at, run_id), descending (or ascending)? (A
    few comparisons over the columns: cheaper than sorting what is already in order.)"""
    if len(table) < 2:
        return True
    start, run = table["created_at"], table["run_id"]
    first, second = (slice(0, len(table) - 1), slice(1, None))
    if not newest_first:
        first, second = second, first
    before, after = start[first], start[second]
    later = pc.greater(before, after)
    tie_broken = pc.and_(pc.equal(before, after), pc.greater(run[first], run[second]))
    return bool(pc.all(pc.or_(later, tie_broken)).as_py())
