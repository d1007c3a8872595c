"""One-shot statements, run with `execute` rather than `sql`.

`con.sql(q)` builds a lazy relation (DuckDB binds the query to learn its columns) and binds it
again to run it; `con.execute(q)` binds once. For the checker's small statements that halves the
cost per statement: 1.3 ms against 2.2 ms on a 50-row table here, and a gate costs a few of them.
"""

from __future__ import annotations

from typing import Any

import duckdb

from prodex_jupyter.checks.json_values import json_safe


def fetch(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Column names and rows of one statement."""
    cursor = con.execute(sql)
    names = [d[0] for d in cursor.description or ()]
    return names, cursor.fetchall()


def fetch_one(con: duckdb.DuckDBPyConnection, sql: str) -> dict[str, Any]:
    """The single row of an aggregate statement, by column name."""
    names, rows = fetch(con, sql)
    return dict(zip(names, rows[0], strict=True))


def fetch_records(con: duckdb.DuckDBPyConnection, sql: str) -> list[dict[str, Any]]:
    """The rows of one statement as JSON-safe records (offending rows shown to a person)."""
    names, rows = fetch(con, sql)
    return [{n: json_safe(v) for n, v in zip(names, r, strict=True)} for r in rows]
