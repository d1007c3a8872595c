"""Where the data to check lives, and the one SQL expression that reads it.

A CSV is opened once as a streaming pyarrow dataset (checks/csv_format.py), or read whole with
the same types when it is small, and registered on the connection, so every statement scans it
with the same dialect and types and nothing is sniffed twice; a JSON file gets its columns
spelled out. Arrow tables (node outputs) are registered on the connection, not copied. When a
CSV's types do not hold past its first block, `full_sniff` reads it with DuckDB's reader typed
from all its rows instead.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.dataset as pa_ds

from prodex_jupyter.checks.csv_format import (
    CsvReadError,
    csv_dataset,
    invalid_utf8_message,
    is_invalid_utf8,
    is_straddling,
    small_csv_table,
    straddling_message,
)
from prodex_jupyter.template.instructions import known_set_path_problem

_SUFFIXES = {
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".json": "json",
    ".ndjson": "ndjson",
    ".jsonl": "ndjson",
}
_registered = itertools.count()


@dataclass(frozen=True)
class DataStream:
    """Data going by once, batch by batch: a source the engine parses, hashes and stores in the
    same pass (runtime/compute.py). The checker reads its head, then aggregates it as it goes;
    `stored` gives the same rows to read again once every batch has gone by (the copy the engine
    wrote), for what the pass leaves to read afterwards (offending rows, custom checks)."""

    schema: pa.Schema
    batches: Iterator[pa.RecordBatch]
    stored: Callable[[], DataRef]


@dataclass(frozen=True)
class DataRef:
    """What to profile: a file (csv, parquet, json, ndjson), an in-memory Arrow table, or a
    stream read once."""

    path: str | None = None
    format: str | None = None
    table: pa.Table | None = None
    encoding: str | None = None  # of a CSV file; None: UTF-8
    stream: DataStream | None = None

    @property
    def name(self) -> str:
        """A short name for messages: the file name, or 'table'."""
        return Path(self.path).name if self.path else "table"


class SourceError(ValueError):
    """The data cannot be read: missing file, unknown format, unreadable content."""


def infer_format(path: str) -> str:
    """The format from the file suffix, looking through a compression suffix (.csv.gz)."""
    suffixes = [s.lower() for s in Path(path).suffixes]
    if suffixes and suffixes[-1] in (".gz", ".zst", ".bz2"):
        suffixes = suffixes[:-1]
    if suffixes and suffixes[-1] in _SUFFIXES:
        return _SUFFIXES[suffixes[-1]]
    raise SourceError(f"cannot tell the format of '{path}' from its suffix; give format=")


def data_format(data: DataRef) -> str:
    """The format of a file to read: as given, or from its suffix."""
    assert data.path is not None
    return (data.format or infer_format(data.path)).lower()


def sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class OpenedSource:
    """The FROM-clause expression that reads the data, and its columns as DuckDB typed them.

    `guessed_types`: a CSV typed from its first rows only, which a later row may contradict.
    """

    sql: str
    columns: tuple[tuple[str, str], ...]
    guessed_types: bool = False


def resolve_path(path: str, base_dir: str | Path | None) -> Path:
    p = Path(path).expanduser()
    if not p.is_absolute() and base_dir is not None:
        p = Path(base_dir) / p
    return p


def known_set_file(name: str, base_dir: str | Path | None) -> Path:
    """The file of a known set: inside the template's folder (the working directory when the
    template has none), named relative to it. Absolute paths, '..' and links leading out are
    refused, so a gate reads only what its template declares."""
    problem = known_set_path_problem(name)
    if problem:
        raise SourceError(problem)
    base = Path(base_dir if base_dir is not None else Path.cwd()).resolve()
    path = (base / name).resolve()
    if not path.is_relative_to(base):
        raise SourceError(
            f"the known set '{name}' leads outside the template's folder {base} (to {path})"
        )
    return path


def file_digest(path: Path) -> dict[str, str | int]:
    """What evidence records of a file it read besides the data: its size and sha256."""
    with path.open("rb") as f:
        sha = hashlib.file_digest(f, "sha256").hexdigest()
    return {"sha256": sha, "size": path.stat().st_size}


def open_source(
    con: duckdb.DuckDBPyConnection,
    data: DataRef,
    *,
    base_dir: str | Path | None = None,
    full_sniff: bool = False,
) -> OpenedSource:
    """Make `data` readable on `con` and return how to read it.

    `full_sniff` reads a whole CSV to decide its types: the fallback when the sampled types turned
    out wrong further down the file.
    """
    if data.table is not None:
        return _registered_source(con, data.table)
    if not data.path:
        raise SourceError("nothing to read: give a path or a table")
    path = resolve_path(data.path, base_dir)
    if not path.exists():
        raise SourceError(f"file not found: {path}")
    fmt = data_format(data)
    lit = sql_string(str(path))
    try:
        if fmt == "csv" and not full_sniff:
            table = small_csv_table(path, data.encoding)
            data_read = csv_dataset(path, data.encoding) if table is None else table
            return replace(_registered_source(con, data_read), guessed_types=True)
        if fmt == "csv":
            query = f"SELECT Prompt, Columns FROM sniff_csv({lit}, sample_size=-1)"
            prompt, sniffed = con.execute(query).fetchall()[0]
            prompt = str(prompt).strip().rstrip(";")
            sql = prompt[len("FROM ") :] if prompt.upper().startswith("FROM ") else prompt
            # the sniffer's columns are the ones the prompt spells out: no DESCRIBE needed
            return OpenedSource(sql, tuple((str(c["name"]), str(c["type"])) for c in sniffed))
        elif fmt == "parquet":
            sql = f"read_parquet({lit})"
        elif fmt in ("json", "ndjson"):
            shape = "newline_delimited" if fmt == "ndjson" else "auto"
            auto = f"read_json({lit}, format='{shape}')"
            cols = _describe(con, auto)
            spec = ", ".join(f"{sql_string(n)}: {sql_string(t)}" for n, t in cols)
            sql = f"read_json({lit}, format='{shape}', columns={{{spec}}})"
            return OpenedSource(sql, cols)
        else:
            raise SourceError(f"unknown format '{fmt}' (csv, parquet, json, ndjson)")
        return OpenedSource(sql, _describe(con, sql))
    except CsvReadError as exc:
        raise SourceError(str(exc)) from None
    except (duckdb.Error, pa.ArrowException) as exc:
        if is_straddling(exc):
            raise SourceError(straddling_message(path)) from None
        if is_invalid_utf8(exc):
            raise SourceError(invalid_utf8_message(path)) from None
        raise SourceError(f"cannot read {path.name}: {_first_line(exc)}") from exc


def register_stream(con: duckdb.DuckDBPyConnection, reader: pa.RecordBatchReader) -> str:
    """A stream on the cursor under a name of its own; the FROM-clause expression that reads it
    (once: a stream is not read again)."""
    name = quote_ident(f"__prodex_stream_{next(_registered)}")
    con.register(name[1:-1], reader)
    return name


def _registered_source(
    con: duckdb.DuckDBPyConnection, data: pa.Table | pa_ds.Dataset
) -> OpenedSource:
    """Arrow data the cursor scans in place, under a name of its own."""
    name = f"__prodex_table_{next(_registered)}"
    con.register(name, data)
    return OpenedSource(quote_ident(name), _describe(con, quote_ident(name)))


def _describe(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[tuple[str, str], ...]:
    rows = con.execute(f"DESCRIBE SELECT * FROM {sql}").fetchall()
    return tuple((str(r[0]), str(r[1])) for r in rows)


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().split("\n")[0]
