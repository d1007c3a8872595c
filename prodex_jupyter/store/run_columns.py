"""The runs list column by column, as Arrow arrays: what `px.runs()` builds its DataFrame from.

Reading 100,000 summary rows through a DB-API driver makes 900,000 Python objects, most of the
time `px.runs()` took; asking the database for each column apart costs it a pass per column.
So each summary row carries its list line (`line`, a column the database generates from the
row's own columns: the FIELDS below joined by U+001F), and the whole list comes back as ONE
value, the lines joined by newlines. Arrow's CSV reader (U+001F as delimiter, no quoting) cuts
it into typed columns in one pass: strings sharing one buffer per column, the two times already
parsed; no Python object per value, and no second pass to pick the fields apart.

The PostgreSQL store keeps a shorter line (KEYED_FIELDS, store/postgres_schema.py): the template
and fingerprint as one small integer key, mapped back here from the few (key, template,
fingerprint) rows of its templates; the start, and the time from it to the last change, as
integer microseconds. A third of the bytes for the server to scan and join, and for Arrow to cut.

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

# The PostgreSQL store's line: `template` a key of its templates, the times in microseconds.
KEYED_FIELDS = ("run_id", "template", "started_us", "status", "duration_us", "gates", "inputs")
_KEYED_TYPES = {name: pa.string() for name in KEYED_FIELDS}
_KEYED_TYPES.update(template=pa.int64(), started_us=pa.int64(), duration_us=pa.int64())


_PARSE = csv.ParseOptions(
    delimiter=SEP, quote_char=False, double_quote=False, escape_char=False, ignore_empty_lines=False
)


def _converting(types: dict[str, pa.DataType]) -> csv.ConvertOptions:
    return csv.ConvertOptions(
        column_types=types, strings_can_be_null=False, quoted_strings_can_be_null=False
    )


_CONVERT, _KEYED_CONVERT = _converting(_TYPES), _converting(_KEYED_TYPES)


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
    table = _parsed(data, FIELDS, _CONVERT)
    if table is None or table.num_rows != count:
        table = _from_rows(read_rows())
    return _newest_first(table)


def assemble_keyed(
    count: int,
    data: bytes | str | None,
    templates: list[tuple[int, str, str]],
    read_rows: Callable[[], list[tuple]],
) -> pa.Table:
    """As `assemble`, from lines of KEYED_FIELDS and the (key, template_id, fingerprint) of every
    key they may hold."""
    if not count:
        return SCHEMA.empty_table()
    keyed = _parsed(data, KEYED_FIELDS, _KEYED_CONVERT)
    table = None
    if keyed is not None and keyed.num_rows == count:  # put in order before the template and
        table = _expanded(_newest_first(keyed, "started_us"), templates)  # fingerprint join it
    if table is None:
        table = _newest_first(_from_rows(read_rows()))
    return table


def _expanded(keyed: pa.Table, templates: list[tuple[int, str, str]]) -> pa.Table | None:
    """SCHEMA's columns from KEYED_FIELDS' (None if a key is not among `templates`)."""
    keys = pa.array([t[0] for t in templates], pa.int64())
    names = pa.array([t[1] for t in templates], pa.string())
    fingerprints = pa.array([t[2] for t in templates], pa.string())
    where = pc.index_in(keyed["template"], value_set=keys)
    if where.null_count:
        return None
    started = keyed["started_us"].cast(UTC)
    columns = {
        "run_id": keyed["run_id"],
        "template_id": names.take(where),
        "fingerprint": fingerprints.take(where),
        "created_at": started,
        "status": keyed["status"],
        "last_at": pc.add(started, keyed["duration_us"].cast(pa.duration("us"))),
        "gates": keyed["gates"],
        "inputs": keyed["inputs"],
    }
    return pa.table(columns, schema=SCHEMA)


def _from_rows(rows: list[tuple]) -> pa.Table:
    """The list read row by row: FIELDS per row, the times as text."""
    columns = [pa.array([r[i] for r in rows], pa.string()) for i in range(len(FIELDS))]
    return pa.table(dict(zip(FIELDS, columns, strict=True))).cast(SCHEMA)


def _newest_first(table: pa.Table, start: str = "created_at") -> pa.Table:
    """The runs by (`start`, run_id), descending."""
    if len(table) < 2:
        return table
    ends = [table.slice(i, 1).select([start, "run_id"]).to_pylist()[0] for i in (0, len(table) - 1)]
    oldest_first = tuple(ends[0].values()) < tuple(ends[1].values())
    if in_order(table, start, newest_first=not oldest_first):  # (only the one way it may be)
        if not oldest_first:
            return table
        return table.take(np.arange(len(table) - 1, -1, -1))  # PostgreSQL's heap, as runs start
    return table.sort_by([(start, "descending"), ("run_id", "descending")])


def _parsed(
    data: bytes | str | None, names: tuple[str, ...], convert: csv.ConvertOptions
) -> pa.Table | None:
    """The lines cut into typed columns, or None when a line has more or fewer fields (or holds
    a carriage return, which the reader would take for a line end). Two blocks of at least 1 MiB,
    read on two threads: the same CPU time as one, about half the wall time when a second core
    is free."""
    raw = data.encode() if isinstance(data, str) else data
    if not raw or b"\r" in raw:
        return None
    size = min(max(len(raw) // 2 + 1, 1 << 20), 1 << 30)
    options = csv.ReadOptions(column_names=names, block_size=size)
    try:
        return csv.read_csv(
            pa.BufferReader(raw),
            read_options=options,
            parse_options=_PARSE,
            convert_options=convert,
        )
    except pa.ArrowInvalid:
        return None


def in_order(table: pa.Table, start_column: str, *, newest_first: bool) -> bool:
    """Is every run before the next one by (start, run_id), descending (or ascending)? (A few
    comparisons over the columns: cheaper than sorting what is already in order.)"""
    if len(table) < 2:
        return True
    start, run = table[start_column], table["run_id"]
    first, second = (slice(0, len(table) - 1), slice(1, None))
    if not newest_first:
        first, second = second, first
    before, after = start[first], start[second]
    later = pc.greater(before, after)
    tie_broken = pc.and_(pc.equal(before, after), pc.greater(run[first], run[second]))
    return bool(pc.all(pc.or_(later, tie_broken)).as_py())
