"""How CSV files are read, by the engine and the checker alike: pyarrow's CSV parser.

It decodes on every core and, opened as a dataset, streams: the checker profiles a 10M-row file in
one pass with a fifth of the memory pandas needs, faster than DuckDB's own CSV reader on the same
machine (bench/evidence.py), and the engine reads a small source in a fraction of a millisecond
where DuckDB's reader first spends milliseconds sniffing it. Null markers are pandas' ("", NA,
N/A, NaN, null, ...), in text columns too, because the people who write these files read them
with pandas. Timestamps come as microseconds, as DuckDB and pandas hold them; a column without a
single value is text.

A streamed file is typed from its first block (about a megabyte); a value further down that does
not fit raises `is_conversion_error`, and the checker then types the file from all its rows
(checks/gather.py). Reading a whole table infers types from every row and never needs that.
"""

from __future__ import annotations

import csv
import io
import itertools
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.dataset as pa_ds

DELIMITERS = ",;\t|"
BLOCK_BYTES = 1 << 20  # pyarrow's default block; a streamed file is typed from its first one
SNIFF_BYTES = 16_384  # the dialect is guessed from the first lines, never from the whole file


def read_csv_table(path: str | Path) -> pa.Table:
    """The whole file as an Arrow table, each column typed from all its rows.

    A file of one block is parsed in the calling thread: handing it to pyarrow's thread pool
    costs more than it saves, and the engine reads several small sources at once anyway."""
    parse, convert = _options(Path(path))
    threads = Path(path).stat().st_size > BLOCK_BYTES
    table = pa_csv.read_csv(
        path,
        read_options=pa_csv.ReadOptions(use_threads=threads, block_size=BLOCK_BYTES),
        parse_options=parse,
        convert_options=convert,
    )
    return table.cast(_settled(table.schema))


def csv_dataset(path: str | Path) -> pa_ds.Dataset:
    """The file as a streaming dataset: DuckDB scans it afresh per query, with projection
    pushdown, while pyarrow parses it on its thread pool; no more than a few blocks are held in
    memory."""
    parse, convert = _options(Path(path))
    fmt = pa_ds.CsvFileFormat(parse_options=parse, convert_options=convert)
    inferred = pa_ds.dataset(str(path), format=fmt).schema
    schema = _settled(inferred)
    if schema.equals(inferred):
        return pa_ds.dataset(str(path), format=fmt)
    return pa_ds.dataset(str(path), format=fmt, schema=schema)


def is_conversion_error(exc: BaseException) -> bool:
    """A value further down the file did not fit the type guessed from the first block."""
    return "CSV conversion error" in str(exc)


def _options(path: Path) -> tuple[pa_csv.ParseOptions, pa_csv.ConvertOptions]:
    parse = pa_csv.ParseOptions(
        delimiter=_delimiter(path),
        newlines_in_values=True,  # a quoted field may span lines, as in spreadsheets' exports
    )
    return parse, pa_csv.ConvertOptions(strings_can_be_null=True)


def _delimiter(path: Path) -> str:
    """The first of `DELIMITERS` that cuts the first lines into the same number (two or more) of
    fields, quotes respected (the standard library's reader does the cutting); a comma when none
    does, a tab for .tsv files. The standard library's Sniffer does more and costs a millisecond
    per file, more than reading a small source."""
    if path.suffix.lower() == ".tsv":
        return "\t"
    with pa.input_stream(str(path), compression="detect") as stream:
        head = stream.read(SNIFF_BYTES).decode("utf-8", errors="replace")
    if len(head) >= SNIFF_BYTES and "\n" in head:
        head = head[: head.rindex("\n")]  # whole lines only
    for delimiter in DELIMITERS:
        rows = list(itertools.islice(csv.reader(io.StringIO(head), delimiter=delimiter), 20))
        widths = {len(row) for row in rows if row}
        if len(widths) == 1 and widths.pop() > 1:
            return delimiter
    return ","


def _settled(schema: pa.Schema) -> pa.Schema:
    """Timestamps in microseconds; a column with no value in the rows typed is text, as DuckDB
    and pandas have it (and a streamed file may still hold text further down)."""
    for i, field in enumerate(schema):
        if pa.types.is_timestamp(field.type) and field.type.unit != "us":
            schema = schema.set(i, field.with_type(pa.timestamp("us", tz=field.type.tz)))
        elif pa.types.is_null(field.type):
            schema = schema.set(i, field.with_type(pa.string()))
    return schema
