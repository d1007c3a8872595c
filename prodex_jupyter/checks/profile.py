"""Column statistics as SQL aggregates, so they ride in the same single pass as the checks.

Which text columns get a full value histogram is decided from the first rows (the same rows that
give the sample): listing every value of an identifier column would cost a hash table the size
of the data, while a low-cardinality column's histogram is cheap and lets drift see new or
vanished categories.
"""

from __future__ import annotations

import re
from typing import Any

import duckdb
import pyarrow as pa

from prodex_jupyter.checks.evidence import ColumnProfile
from prodex_jupyter.checks.json_values import json_safe
from prodex_jupyter.checks.source import quote_ident

LOW_CARDINALITY = 50  # a text column with at most this many distinct values lists them all
TOP_VALUES = 5

_NUMERIC = re.compile(
    r"^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT"
    r"|FLOAT|DOUBLE|REAL|DECIMAL.*|INT\d*|NUMERIC.*|VARINT|BIGNUM)$"
)
_TEMPORAL = re.compile(r"^(DATE|TIME|TIMESTAMP.*|TIME WITH TIME ZONE|TIMETZ)$")
_TEXT = re.compile(r"^(VARCHAR|TEXT|STRING|ENUM.*|BOOLEAN|UUID)$")


def kind_of(type_name: str) -> str:
    """'numeric', 'temporal', 'text' or 'other': what statistics make sense for the column."""
    t = type_name.upper()
    if _NUMERIC.match(t):
        return "numeric"
    if _TEMPORAL.match(t):
        return "temporal"
    if _TEXT.match(t):
        return "text"
    return "other"


def profile_expressions(
    columns: tuple[tuple[str, str], ...], histogram_columns: frozenset[str]
) -> list[tuple[str, str]]:
    """(alias, aggregate) pairs: row count, and per column non-null count, min/max, histogram."""
    exprs = [("n_rows", "count(*)")]
    for i, (name, type_name) in enumerate(columns):
        q = quote_ident(name)
        exprs.append((f"nn_{i}", f"count({q})"))
        if kind_of(type_name) in ("numeric", "temporal"):
            exprs.append((f"min_{i}", f"min({q})"))
            exprs.append((f"max_{i}", f"max({q})"))
        if name in histogram_columns:
            exprs.append((f"hist_{i}", f"histogram({q})"))
    return exprs


def read_profile(
    columns: tuple[tuple[str, str], ...], row: dict[str, Any]
) -> tuple[int, tuple[ColumnProfile, ...]]:
    """The row count and column profiles from the single pass's result row."""
    n = int(row["n_rows"] or 0)
    profiles = []
    for i, (name, type_name) in enumerate(columns):
        hist = row.get(f"hist_{i}")
        top: tuple[tuple[Any, int], ...] = ()
        categories = None
        distinct = None
        if f"hist_{i}" in row:
            pairs = sorted(
                ((json_safe(k), int(v)) for k, v in (hist or {}).items()),
                key=lambda kv: (-kv[1], str(kv[0])),
            )
            distinct = len(pairs)
            top = tuple(pairs[:TOP_VALUES])
            if distinct <= LOW_CARDINALITY:
                categories = tuple(pairs)
        profiles.append(
            ColumnProfile(
                name=name,
                type=type_name,
                null_count=n - int(row[f"nn_{i}"] or 0),
                min=json_safe(row.get(f"min_{i}")),
                max=json_safe(row.get(f"max_{i}")),
                distinct_count=distinct,
                top_values=top,
                categories=categories,
            )
        )
    return n, tuple(profiles)


def read_head(
    con: duckdb.DuckDBPyConnection,
    source_sql: str,
    columns: tuple[tuple[str, str], ...],
    *,
    head_rows: int,
    sample_rows: int,
    limit: int = LOW_CARDINALITY,
) -> tuple[tuple[dict[str, Any], ...], frozenset[str]]:
    """The sample (first rows, JSON-safe) and the text columns with at most `limit` distinct
    values among the first `head_rows` rows, in one statement.

    Reading the head stops early (a CSV is not read to its end), so this costs milliseconds.
    A column's distinct values are counted from the list of its head's values (`list_distinct`
    leaves NULLs out, as `count(DISTINCT)` does): DuckDB's `count(DISTINCT)` builds a hash table
    per column, 3 MiB for three text columns at the head of a 1M-row Parquet file here.
    """
    text = text_columns(columns)
    counts = "".join(f"coalesce(len(list_distinct(list({quote_ident(n)}))), 0), " for n in text)
    row = con.execute(
        f"WITH __head AS MATERIALIZED (SELECT * FROM {source_sql} LIMIT {head_rows}) "
        f"SELECT count(*), {counts}"
        f"(SELECT list(__s) FROM (SELECT * FROM __head LIMIT {sample_rows}) __s) FROM __head"
    ).fetchall()[0]
    sample = tuple(json_safe(dict(r)) for r in row[-1] or ())
    low = frozenset(n for n, k in zip(text, row[1:-1], strict=True) if k <= limit)
    return sample, low


def text_columns(columns: tuple[tuple[str, str], ...]) -> tuple[str, ...]:
    return tuple(name for name, type_name in columns if kind_of(type_name) == "text")


def table_sample(table: pa.Table, sample_rows: int) -> tuple[dict[str, Any], ...]:
    """The first rows of a table in memory, JSON-safe, as the head statement gives them."""
    return tuple(json_safe(r) for r in table.slice(0, sample_rows).to_pylist())


def drop_wide_histograms(row: dict[str, Any]) -> None:
    """Forget the histograms of text columns that turned out not to be low-cardinality: the
    profile then reads exactly as if the head had chosen the columns."""
    for key in [k for k in row if k.startswith("hist_")]:
        if row[key] is not None and len(row[key]) > LOW_CARDINALITY:
            del row[key]
