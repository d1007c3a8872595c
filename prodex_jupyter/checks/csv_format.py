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

import codecs
import csv
import io
import itertools
import mmap
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.dataset as pa_ds

DELIMITERS = ",;\t|"
BLOCK_BYTES = 1 << 20  # pyarrow's default block; a streamed file is typed from its first one
_QUOTE_WINDOW = 1 << 20  # mapped at a time by `_has_quote` (a multiple of the page size)
_MAP_FLAGS = mmap.MAP_SHARED | mmap.MAP_POPULATE  # faulted in at once: cheaper than page by page
FEW_VALUES = 50  # distinct values in a text column's first block to parse it dictionary-encoded
SNIFF_BYTES = 16_384  # the dialect is guessed from the first lines, never from the whole file
WHOLE_FILE_BYTES = 64 << 20  # the checker reads a CSV up to this size whole (`small_csv_table`)


class CsvReadError(ValueError):
    """A CSV file cannot be read as it is; says which file, where and what to do."""


def read_csv_table(path: str | Path, encoding: str | None = None) -> pa.Table:
    """The whole file as an Arrow table, each column typed from all its rows.

    A file of one block is parsed in the calling thread: handing it to pyarrow's thread pool
    costs more than it saves, and the engine reads several small sources at once anyway. A row
    longer than a block is read with blocks as large as the file (pyarrow cannot split a row)."""
    path = Path(path)
    parse, convert = csv_options(path, encoding)
    size = path.stat().st_size
    block = BLOCK_BYTES
    while True:
        options = pa_csv.ReadOptions(
            use_threads=size > block, block_size=block, encoding=encoding or "utf8"
        )
        try:
            table = pa_csv.read_csv(
                path, read_options=options, parse_options=parse, convert_options=convert
            )
            break
        except pa.ArrowInvalid as exc:
            if not is_straddling(exc) or block > size:
                raise
            block = size + 1  # one block: no row can straddle two
    if encoding is None:
        check_utf8(path, table.schema)
    return table.cast(settled_schema(table.schema))


def small_csv_table(path: str | Path, encoding: str | None = None) -> pa.Table | None:
    """A file of up to `WHOLE_FILE_BYTES` read whole, on pyarrow's threads, typed as its stream
    (`csv_dataset`) types it, from its first block; None for a larger or compressed file, or
    whenever the stream would say something (a column typed binary, a read that fails).

    A small file's costs are the stream's fixed ones: a scanner started for every statement,
    the head's statement parsing blocks ahead that the pass parses again, each failing check's
    offending rows parsed again from the start. Read whole, it is parsed once, with the stream's
    types (given explicitly: pyarrow's table reader would otherwise type each column from all
    blocks), into the same batches in the same order, so every figure is the same. On None the
    caller streams the file, which fails as it always did (the same message, the same retyping),
    so reading a file whole changes nothing but the time.
    """
    path = Path(path)
    size = path.stat().st_size
    if path.suffix.lower() in (".gz", ".zst", ".bz2") or size > WHOLE_FILE_BYTES:
        return None  # a compressed file's size says little of its rows
    parse, convert = csv_options(path, encoding)
    # a file of one block is parsed in this thread (as `read_csv_table` does)
    read = pa_csv.ReadOptions(
        block_size=BLOCK_BYTES, encoding=encoding or "utf8", use_threads=size > BLOCK_BYTES
    )
    try:
        inferred, first = first_block(path, encoding, parse, convert)
        names = inferred.names
        if len(set(names)) != len(names) or any(_untyped(f.type) for f in inferred):
            return None  # types are given by name; a binary column is refused by the stream
        convert.column_types = _few_values_encoded(settled_schema(inferred), first)
        return pa_csv.read_csv(
            path, read_options=read, parse_options=parse, convert_options=convert
        )
    except pa.ArrowException:
        return None


def first_block(
    path: Path,
    encoding: str | None,
    parse: pa_csv.ParseOptions,
    convert: pa_csv.ConvertOptions,
) -> tuple[pa.Schema, pa.RecordBatch | None]:
    """The file's types as its stream has them, and its first block parsed (None: no rows).

    pyarrow's stream reader reads ahead of what is asked, on its IO threads: opened on a 36 MB
    file to parse one block, it had read the whole file (37 MiB of the process's peak memory,
    1M rows here). So it is opened on the file's first two blocks of bytes, in memory: its
    first block is the same bytes, cut into the same rows, typed the same. Anything odd (a
    UTF-8 file only; an error, however unlikely, from the cut second block) and the file itself
    is opened, as before, in this thread (threads would only read further ahead)."""
    typing = pa_csv.ReadOptions(
        block_size=BLOCK_BYTES, encoding=encoding or "utf8", use_threads=False
    )
    if encoding is None and path.suffix.lower() not in (".gz", ".zst", ".bz2"):
        with path.open("rb") as f:
            head = f.read(2 * BLOCK_BYTES + 1)
        if len(head) > 2 * BLOCK_BYTES:  # else the file is small: opened whole below
            try:
                with pa_csv.open_csv(
                    pa.BufferReader(head[:-1]),
                    read_options=typing,
                    parse_options=parse,
                    convert_options=convert,
                ) as reader:
                    return reader.schema, next(iter(reader), None)
            except pa.ArrowException:
                pass
    with pa_csv.open_csv(
        path, read_options=typing, parse_options=parse, convert_options=convert
    ) as reader:
        return reader.schema, next(iter(reader), None)


def _few_values_encoded(schema: pa.Schema, first: pa.RecordBatch | None) -> pa.Schema:
    """Text columns with few distinct values in the first block (a category, a code) parsed
    dictionary-encoded: DuckDB reads them as the same VARCHAR values, and counts their
    histograms from the codes (1M rows here: the aggregate 0.13 -> 0.05 s of CPU, the table
    34 -> 26 MB, for 0.07 s more parse)."""
    if first is None:
        return schema
    for i, field in enumerate(schema):
        column = first.column(i)
        text = pa.types.is_string(field.type) and pa.types.is_string(column.type)
        if text and pc.count_distinct(column).as_py() <= FEW_VALUES:
            schema = schema.set(i, field.with_type(pa.dictionary(pa.int32(), pa.string())))
    return schema


def _untyped(type_: pa.DataType) -> bool:
    return pa.types.is_binary(type_) or pa.types.is_large_binary(type_)


def csv_dataset(path: str | Path, encoding: str | None = None) -> pa_ds.Dataset:
    """The file as a streaming dataset: DuckDB scans it afresh per query, with projection
    pushdown, while pyarrow parses it on its thread pool; no more than a few blocks are held in
    memory."""
    parse, convert = csv_options(Path(path), encoding)
    read = pa_csv.ReadOptions(block_size=BLOCK_BYTES, encoding=encoding or "utf8")
    fmt = pa_ds.CsvFileFormat(parse_options=parse, convert_options=convert, read_options=read)
    inferred = pa_ds.dataset(str(path), format=fmt).schema
    if encoding is None:
        check_utf8(Path(path), inferred)
    schema = settled_schema(inferred)
    if schema.equals(inferred):
        return pa_ds.dataset(str(path), format=fmt)
    return pa_ds.dataset(str(path), format=fmt, schema=schema)


def check_utf8(path: Path, schema: pa.Schema) -> None:
    """pyarrow turns a column holding bytes that are not UTF-8 into a binary column, silently:
    refuse it, saying where the first such byte is and how to read the file."""
    if any(pa.types.is_binary(f.type) or pa.types.is_large_binary(f.type) for f in schema):
        raise CsvReadError(invalid_utf8_message(path))


def is_invalid_utf8(exc: BaseException) -> bool:
    """A streamed file held bytes that are not UTF-8 past the block its types came from."""
    return "invalid UTF8" in str(exc)


def is_straddling(exc: BaseException) -> bool:
    """pyarrow's words for a row longer than its block."""
    return "straddling" in str(exc)


def straddling_message(path: str | Path) -> str:
    return (
        f"{path}: a row is longer than the CSV reader's block ({BLOCK_BYTES >> 20} MiB) and "
        "cannot be streamed; is the file's quoting broken (an unclosed quote runs on to the end "
        "of the file), or is one row really this long?"
    )


def invalid_utf8_message(path: str | Path) -> str:
    """Where the first byte that is not UTF-8 is: data row, line and byte offset (no content)."""
    where = _first_invalid_utf8(Path(path))
    at = "a byte"
    if where is not None:
        row, line, offset = where
        at = f"the byte at offset {offset} (data row {row}, line {line})"
    return (
        f"{path} is not UTF-8: {at} is not valid UTF-8; give the source its encoding "
        "(`encoding: latin-1`, `cp1252`...) or save the file as UTF-8"
    )


def _first_invalid_utf8(path: Path) -> tuple[int, int, int] | None:
    """(data row counted from 1 after the header, line, byte offset) of the first byte that is
    not UTF-8; offsets in the decompressed text of a .gz file. Read in chunks; rows are counted
    with the standard library's CSV reader, so a quoted field spanning lines counts once."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = 0
    bad = None
    with pa.input_stream(str(path), compression="detect") as f:
        while chunk := f.read(BLOCK_BYTES):
            pending = len(decoder.getstate()[0])
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                bad = offset - pending + exc.start
                break
            offset += len(chunk)
    if bad is None:
        return None
    with pa.input_stream(str(path), compression="detect") as f:
        head = f.read(bad).decode("utf-8")
    line = head.count("\n") + 1
    records = csv.reader(io.StringIO(head + "?", newline=""), delimiter=_delimiter(path))
    row = sum(1 for _ in records) - 1  # the last record holds the byte; the first is the header
    return row, line, bad


def is_conversion_error(exc: BaseException) -> bool:
    """A value further down the file did not fit the type guessed from the first block."""
    return "CSV conversion error" in str(exc)


def csv_options(
    path: Path, encoding: str | None = None
) -> tuple[pa_csv.ParseOptions, pa_csv.ConvertOptions]:
    parse = pa_csv.ParseOptions(
        delimiter=_delimiter(path, encoding),
        # a quoted field may span lines, as in spreadsheets' exports; a file without a quote
        # has no such field and is cut into the same rows and blocks by the faster chunker
        newlines_in_values=_has_quote(path),
    )
    return parse, pa_csv.ConvertOptions(strings_can_be_null=True)


def _has_quote(path: Path) -> bool:
    """Whether the file may hold a quote character: any byte 0x22, which is how '"' is
    written in every encoding pyarrow reads (UTF-8, Latin-1, cp1252, UTF-16...), so without one
    no field is quoted. Searched with memchr through a memory map, one 8 MiB window at a time
    (about 80 ms of CPU over 360 MB here, against the 240 ms `newlines_in_values` costs the
    parse of those bytes; mapping the whole file would count all of it in the process's peak
    resident memory, and a 1 MiB window costs no more CPU than 8 MiB for 7 MiB less peak); a
    compressed file is assumed to hold one."""
    if path.suffix.lower() in (".gz", ".zst", ".bz2"):
        return True
    try:
        size = path.stat().st_size
        with path.open("rb") as f:
            for offset in range(0, size, _QUOTE_WINDOW):
                length = min(_QUOTE_WINDOW, size - offset)
                with mmap.mmap(f.fileno(), length, _MAP_FLAGS, mmap.PROT_READ, offset=offset) as m:
                    if m.find(b'"') >= 0:
                        return True
    except (OSError, ValueError):
        return True
    return False


def _delimiter(path: Path, encoding: str | None = None) -> str:
    """The first of `DELIMITERS` that cuts the first lines into the same number (two or more) of
    fields, quotes respected (the standard library's reader does the cutting); a comma when none
    does, a tab for .tsv files. The standard library's Sniffer does more and costs a millisecond
    per file, more than reading a small source."""
    if path.suffix.lower() == ".tsv":
        return "\t"
    with pa.input_stream(str(path), compression="detect") as stream:
        head = stream.read(SNIFF_BYTES).decode(encoding or "utf-8", errors="replace")
    if len(head) >= SNIFF_BYTES and "\n" in head:
        head = head[: head.rindex("\n")]  # whole lines only
    for delimiter in DELIMITERS:
        rows = list(itertools.islice(csv.reader(io.StringIO(head), delimiter=delimiter), 20))
        widths = {len(row) for row in rows if row}
        if len(widths) == 1 and widths.pop() > 1:
            return delimiter
    return ","


def settled_schema(schema: pa.Schema) -> pa.Schema:
    """Timestamps in microseconds; a column with no value in the rows typed is text, as DuckDB
    and pandas have it (and a streamed file may still hold text further down)."""
    for i, field in enumerate(schema):
        if pa.types.is_timestamp(field.type) and field.type.unit != "us":
            schema = schema.set(i, field.with_type(pa.timestamp("us", tz=field.type.tz)))
        elif pa.types.is_null(field.type):
            schema = schema.set(i, field.with_type(pa.string()))
    return schema
