"""Computing one node's value, in a worker thread, so DuckDB and pandas never block the loop."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa

from ..checks import DataRef, DataStream
from ..checks.csv_format import CsvReadError, read_csv_table
from ..store import InputConsumed, RunStore
from ..store.artifacts import encode_table, file_sha256
from ..template import OutputNode, PythonNode, SourceNode, SqlNode, Template
from ..template.nodes import Node
from .source_pass import CsvPass, NotStreamable
from .sql_sandbox import SqlSandbox
from .values import (
    StoredTable,
    Value,
    collapse_output,
    from_python_result,
    to_python_arg,
    to_sql_input,
)


@functools.cache
def _reader() -> duckdb.DuckDBPyConnection:
    """The in-memory DuckDB that reads declared Parquet and JSON sources, once per process (a
    cursor costs microseconds, a new database ~11 ms). Template SQL never runs here: it runs in
    the locked-down database of runtime/sql_sandbox.py."""
    return duckdb.connect()


class InputError(ValueError):
    """An input handed to a run is unusable; says which source node and which file."""


@dataclass(frozen=True)
class SourceInput:
    """What a source node reads in this run: a file, or a DataFrame handed in."""

    node_id: str
    path: Path | None = None
    format: str | None = None
    frame: pd.DataFrame | None = None
    encoding: str | None = None  # the source node's, for a CSV file

    def describe(self) -> str:
        return str(self.path) if self.path is not None else f"<DataFrame {self.node_id}>"


def resolve_inputs(template: Template, inputs: dict[str, Any] | None) -> dict[str, SourceInput]:
    """Check every source has something to read before the run record is created."""
    inputs = dict(inputs or {})
    sources = {n.id: n for n in template.nodes.values() if isinstance(n, SourceNode)}
    unknown = sorted(set(inputs) - set(sources))
    if unknown:
        raise InputError(
            f"inputs name {unknown}, which are not source nodes of template '{template.id}' "
            f"(sources: {sorted(sources)})"
        )
    resolved: dict[str, SourceInput] = {}
    for node_id, node in sources.items():
        given = inputs.get(node_id)
        if isinstance(given, pd.DataFrame):
            resolved[node_id] = SourceInput(node_id, frame=given)
            continue
        if given is not None and not isinstance(given, (str, os.PathLike)):
            raise InputError(
                f"input for source '{node_id}' must be a file path or a pandas DataFrame, "
                f"not {type(given).__name__}"
            )
        raw = given if given is not None else node.path
        if raw is None:
            raise InputError(
                f"source '{node_id}' reads a DataFrame handed in at run time: "
                f"pass inputs={{'{node_id}': df}}"
            )
        path = Path(raw) if given is not None else template.resolve_path(str(raw))
        if not path.is_file():
            raise InputError(f"source '{node_id}': file not found: {path}")
        fmt = node.format if given is None else None
        resolved[node_id] = SourceInput(
            node_id, path=path.resolve(), format=fmt or _suffix(path), encoding=node.encoding
        )
    return resolved


@dataclass(frozen=True)
class SourceRead:
    """A source read and stored: its value, artifact, what was consumed, and its gate's evidence
    when it has a gate."""

    value: Value
    artifact: str
    consumed: InputConsumed
    evidence: dict[str, Any] | None


def read_source(
    src: SourceInput,
    store: RunStore,
    run_id: str,
    gather: Callable[[DataRef], dict[str, Any]] | None = None,
) -> SourceRead:
    """Read a source, store it, gather its evidence with `gather` (when it has a gate), and say
    exactly what was consumed (path, size, sha256, rows). A CSV file is read once, in bounded
    memory (runtime/source_pass.py); the rest, and a CSV whose first block did not type it
    right, are read whole into Arrow."""
    if src.frame is None and (src.format or "csv") == "csv" and _plain(src):
        streamed = _read_streamed(src, store, run_id, gather)
        if streamed is not None:
            return streamed
    table, consumed = _read_whole(src, store, run_id)
    artifact = consumed.sha256 if src.frame is not None else store.put_table(table, run_id)
    evidence = gather(DataRef(table=table)) if gather is not None else None
    return SourceRead(table, artifact, consumed, evidence)


def _plain(src: SourceInput) -> bool:
    """Neither compressed (the hash is of the file's own bytes) nor empty."""
    assert src.path is not None
    compressed = src.path.suffix.lower() in (".gz", ".zst", ".bz2", ".lz4", ".zip")
    return not compressed and src.path.stat().st_size > 0


def _read_streamed(
    src: SourceInput,
    store: RunStore,
    run_id: str,
    gather: Callable[[DataRef], dict[str, Any]] | None,
) -> SourceRead | None:
    """The one pass; None when the file must be read whole (the pass then kept nothing)."""
    assert src.path is not None
    try:
        one = CsvPass(src.path, src.encoding, store, run_id)
    except (NotStreamable, CsvReadError, pa.ArrowException, OSError):
        return None  # read whole, which says what is wrong with the file if anything is
    try:
        evidence = None
        if gather is not None:
            stream = DataStream(one.schema, one.batches, one.stored)
            evidence = gather(DataRef(stream=stream))
        artifact = one.artifact()
        sha = one.file_sha256()
    except Exception:
        one.discard()
        if one.error is None:
            raise
        return None
    value = StoredTable(artifact, store.artifacts.path(artifact), one.schema, one.rows)
    consumed = InputConsumed(
        src.node_id, str(src.path), src.path.stat().st_size, sha, one.rows, "csv"
    )
    return SourceRead(value, artifact, consumed, evidence)


def _read_whole(src: SourceInput, store: RunStore, run_id: str) -> tuple[pa.Table, InputConsumed]:
    """Read a source into Arrow and say exactly what was consumed (path, size, sha256, rows)."""
    if src.frame is not None:
        table = pa.Table.from_pandas(src.frame, preserve_index=False)
        data = encode_table(table)
        sha = store.put_bytes(data, run_id)
        consumed = InputConsumed(
            src.node_id, src.describe(), len(data), sha, table.num_rows, "dataframe", snapshot=True
        )
        return table, consumed
    assert src.path is not None
    try:
        table = _read_file(src.path, src.format or "csv", src.encoding)
    except CsvReadError as exc:
        raise InputError(f"source '{src.node_id}': {exc}") from None
    except (duckdb.Error, pa.ArrowException) as exc:
        raise InputError(f"source '{src.node_id}': cannot read {src.path}: {exc}") from None
    consumed = InputConsumed(
        src.node_id,
        str(src.path),
        src.path.stat().st_size,
        file_sha256(src.path),
        table.num_rows,
        src.format or "csv",
    )
    return table, consumed


def _read_file(path: Path, fmt: str, encoding: str | None = None) -> pa.Table:
    """CSV through pyarrow, as the checker reads it (checks/csv_format.py); the rest by DuckDB."""
    if fmt == "csv":
        return read_csv_table(path, encoding)
    cursor = _reader().cursor()
    try:
        if fmt == "parquet":
            rel = cursor.read_parquet(str(path))
        else:
            shape = "newline_delimited" if fmt == "ndjson" else "auto"
            rel = cursor.read_json(str(path), format=shape)
        return rel.to_arrow_table()
    finally:
        cursor.close()


def compute_node(
    node: Node,
    upstream: dict[str, Value],
    sandbox: SqlSandbox | None,
    on_query: Callable[[duckdb.DuckDBPyConnection], None] | None = None,
) -> Value:
    """The value of a sql, python or output node from its upstream values; SQL runs in the
    `sandbox`, reading the upstream values by node id and nothing else (a python node needs
    none). `on_query` is handed the connection that runs the node's SQL before it runs (so a time
    limit can interrupt it)."""
    if isinstance(node, PythonNode):
        assert node.func is not None
        args = {name: to_python_arg(upstream[name]) for name in node.upstream}
        return from_python_result(node.func(**args), node.id)
    if isinstance(node, OutputNode) and node.of is not None:
        return collapse_output(upstream[node.of])
    sql = node.sql if isinstance(node, (SqlNode, OutputNode)) else None
    if sql is None:
        raise TypeError(f"node '{node.id}' of kind {node.kind} is not computed from upstream")
    if sandbox is None:
        raise TypeError(f"node '{node.id}': its SQL needs a sandbox to run in")
    tables = {name: to_sql_input(value, name) for name, value in upstream.items()}
    table = sandbox.query(node.id, node.kind, sql, tables, on_query=on_query)
    return collapse_output(table) if isinstance(node, OutputNode) else table


def _suffix(path: Path) -> str:
    suffix = path.suffix.lower().lstrip(".")
    return {"jsonl": "ndjson", "pq": "parquet", "tsv": "csv"}.get(suffix, suffix or "csv")
