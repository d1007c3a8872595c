"""Which tables a SQL text reads, from DuckDB's own parser (no binding, so no data is needed)."""

from __future__ import annotations

import json
from typing import Any

import duckdb


class SqlSyntaxError(ValueError):
    """DuckDB could not parse the SQL."""


def referenced_tables(sql: str) -> frozenset[str]:
    """Names of base tables a query reads, excluding its own CTEs and table functions."""
    raw = duckdb.execute("SELECT json_serialize_sql(?)", [sql]).fetchone()[0]
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
