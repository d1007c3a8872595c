"""Which tables a SQL text reads, from DuckDB's own parser (no binding, so no data is needed)."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import duckdb


class SqlSyntaxError(ValueError):
    """DuckDB could not parse the SQL."""


# One in-memory DuckDB connection parses for every thread, one thread at a time: a connection
# is not safe to share (the server loads templates on a thread pool, and a query beside another
# lost its result). Not a connection per thread: in a forked child (multiprocessing, a pseudo-
# terminal's command) the other threads' states are cleared, which closed their connections'
# databases, whose worker threads had not survived the fork: the child died of SIGSEGV. With one
# thread of its own, the database has no worker thread to lose; the child gets a new lock (the
# parent's may have been held by a thread that is not in the child).
_parse_lock = threading.Lock()
_connection: duckdb.DuckDBPyConnection | None = None


@contextmanager
def _parser() -> Iterator[duckdb.DuckDBPyConnection]:
    global _connection
    with _parse_lock:
        if _connection is None:
            _connection = duckdb.connect(config={"threads": 1})
        yield _connection


def _new_lock_in_child() -> None:
    global _parse_lock
    _parse_lock = threading.Lock()


os.register_at_fork(after_in_child=_new_lock_in_child)


def select_problem(sql: str) -> str | None:
    """Why `sql` is not a single SELECT, or None when it is. COPY, ATTACH, INSTALL, LOAD, SET,
    CREATE... would write files, load code or leave state behind for other nodes (the SQL
    sandbox, runtime/sql_sandbox.py, refuses them as well). WITH, VALUES, FROM-first and
    SUMMARIZE are SELECTs."""
    try:
        with _parser() as con:
            kinds = [s.type.name for s in con.extract_statements(sql)]
    except duckdb.Error as exc:
        return f"DuckDB cannot parse the SQL: {str(exc).strip()}"
    if kinds == ["SELECT"]:
        return None
    if not kinds:
        return "the SQL holds no statement"
    if len(kinds) > 1:
        return (
            f"the SQL holds {len(kinds)} statements ({', '.join(kinds)}); "
            "SQL here is one SELECT query over upstream nodes"
        )
    kind = "PIVOT (multi-part)" if kinds[0] == "MULTI" else kinds[0]
    return (
        f"{kind} statements are refused: SQL here is one SELECT query over upstream nodes "
        "(it may not write files, attach databases, install or load extensions, create objects "
        "or change settings)"
    )


def referenced_tables(sql: str) -> frozenset[str]:
    """Names of base tables a query reads, excluding its own CTEs and table functions."""
    problem = select_problem(sql)
    if problem is not None:
        raise SqlSyntaxError(problem)
    with _parser() as con:
        raw = con.execute("SELECT json_serialize_sql(?)", [sql]).fetchone()[0]
    tree = json.loads(raw)
    if tree.get("error"):
        raise SqlSyntaxError(tree.get("error_message", "cannot parse SQL"))
    tables: set[str] = set()
    ctes: set[str] = set()
    _walk(tree, tables, ctes)
    return frozenset(t for t in tables if t not in ctes)


def _walk(obj: Any, tables: set[str], ctes: set[str]) -> None:
    if isinstance(obj, dict):
        if obj.get("type") == "BASE_TABLE" and obj.get("table_name"):
            tables.add(obj["table_name"])
        cte_map = obj.get("cte_map")
        if isinstance(cte_map, dict):
            ctes.update(entry["key"] for entry in cte_map.get("map", []))
        for value in obj.values():
            _walk(value, tables, ctes)
    elif isinstance(obj, list):
        for value in obj:
            _walk(value, tables, ctes)
