"""What flows between nodes: Arrow tables, or JSON-safe scalars. Conversions live here only."""

from __future__ import annotations

import datetime as dt
import decimal
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

Value = Any  # pa.Table, StoredTable or a JSON-safe scalar


@dataclass(frozen=True)
class StoredTable:
    """A table held only as its stored Parquet artifact (a source read in one pass): SQL reads
    the file lazily, a python node gets it loaded; a large source is never in memory whole."""

    artifact: str
    path: Path
    schema: pa.Schema
    num_rows: int

    def load(self) -> pa.Table:
        return pq.read_table(self.path)


def is_table(value: Value) -> bool:
    return isinstance(value, (pa.Table, StoredTable))


def to_table(value: Value, name: str) -> pa.Table:
    """A scalar becomes a one-row table with one column named after its node, so SQL can read it."""
    if isinstance(value, pa.Table):
        return value
    if isinstance(value, StoredTable):
        return value.load()
    return pa.table({name: [value]})


def to_sql_input(value: Value, name: str) -> pa.Table | Path:
    """What SQL reads for an upstream value: a stored table as its Parquet file (read lazily,
    only the columns and row groups the query needs), anything else as an Arrow table."""
    return value.path if isinstance(value, StoredTable) else to_table(value, name)


def to_python_arg(value: Value) -> Any:
    """Python nodes receive pandas DataFrames (and scalars as themselves)."""
    if isinstance(value, (pa.Table, StoredTable)):  # is_table, inlined: called per argument
        return to_table(value, "").to_pandas()
    return value


def from_python_result(result: Any, node_id: str) -> Value:
    """A python node may return a DataFrame, a Series, an Arrow table, or a scalar; not None,
    which is what a function missing its `return` gives, never a value anyone meant."""
    kind = type(result)
    if kind is int or kind is str or kind is bool:
        return result  # JSON already, as json_scalar would return it (most nodes return these)
    if result is None:
        raise TypeError(
            f"python node '{node_id}' returned None: it must return its value, a DataFrame (or "
            "Series, or Arrow table) or a scalar (number, text, bool, date); a function without "
            "a `return` statement returns None"
        )
    if isinstance(result, pa.Table):
        return result
    if isinstance(result, pd.Series):
        result = result.to_frame(name=result.name if result.name is not None else node_id)
    if isinstance(result, pd.DataFrame):
        frame = result
        if not isinstance(frame.index, pd.RangeIndex) or frame.index.name is not None:
            frame = frame.reset_index()
        frame.columns = [str(c) for c in frame.columns]
        return pa.Table.from_pandas(frame, preserve_index=False)
    return json_scalar(result, node_id)


def collapse_output(value: Value) -> Value:
    """An output whose value is one cell is a scalar; anything larger stays a (small) table."""
    if isinstance(value, StoredTable) and value.num_rows == 1 and len(value.schema) == 1:
        value = value.load()
    if isinstance(value, pa.Table) and value.num_rows == 1 and value.num_columns == 1:
        return json_scalar(value.column(0)[0].as_py(), value.column_names[0])
    return value


def json_scalar(value: Any, node_id: str) -> Any:
    """Store scalars as JSON: numpy and Decimal become int/float, datetimes ISO text."""
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    raise TypeError(
        f"node '{node_id}' returned a {type(value).__name__}; a node's value must be a DataFrame "
        "or a scalar (number, text, bool, date)"
    )


def describe_columns(table: pa.Table) -> list[list[str]]:
    return [[field.name, str(field.type)] for field in table.schema]
