"""One pass over a CSV source: parse it, hash it, store it as Parquet and hand the same batches
to the checker, reading the file once and holding no more than a row group (and the batches
queued between the threads below) in memory.

The stored Parquet is byte for byte what storing the whole table gives (store/artifacts.py
`encode_table`): the same blocks parsed into the same batches, written in row groups of the same
rows, so a source has the same artifact hash however it was read. The file is typed from its
first block; a value further down that does not fit that type (or a row longer than a block,
bytes that are not UTF-8) stops the pass, and `read_source` (runtime/compute.py) reads the file
whole instead, typed from all its rows, as before. A first block with a column holding no value
gives no type at all: such a file is read whole from the start.

Three threads share the work, so that both cores are busy: the parse (with the file's hash, on
pyarrow's IO thread), the Parquet's encoding, and whoever consumes the batches (the checker's
aggregate). The parse, the longest of the three (10M rows here: 2.2 s of CPU, encoding 1.6 s,
aggregate 1.1 s), waits on the others only when they fall behind by a full queue, not on each
row group's encode: when the parse fed the consumer on its thread and the writer's queue held 4
batches, it stopped at every encode, 1.3 s of the 4.6 s the 10M rows took on a quiet machine.
"""

from __future__ import annotations

import contextlib
import hashlib
import queue
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from ..checks import DataRef
from ..checks.csv_format import BLOCK_BYTES, WHOLE_FILE_BYTES, csv_options, settled_schema
from ..store import RunStore
from ..store.artifacts import PARQUET_OPTIONS, ROW_GROUP_ROWS


class NotStreamable(ValueError):
    """The first block does not type every column: the file is read whole."""


class _Hashing:
    """A file object that hashes what goes through it: the source as pyarrow reads it, the
    Parquet as pyarrow writes it."""

    def __init__(self, path: Path, mode: str) -> None:
        self.file = open(path, mode)  # noqa: SIM115 (closed by `close`)
        self.sha = hashlib.sha256()
        self.closed = False

    def read(self, size: int = -1) -> bytes:
        data = self.file.read(size)
        self.sha.update(data)
        return data

    def write(self, data: Any) -> int:
        self.sha.update(data)
        return self.file.write(data)

    def tell(self) -> int:
        return self.file.tell()

    def flush(self) -> None:
        self.file.flush()

    def readable(self) -> bool:
        return "r" in self.file.mode

    def writable(self) -> bool:
        return "w" in self.file.mode

    def seekable(self) -> bool:
        return False

    def close(self) -> None:
        self.closed = True
        self.file.close()

    def hexdigest(self) -> str:
        """The hash of the whole file: what was not read yet is read now."""
        if self.readable() and not self.file.closed:
            while block := self.file.read(BLOCK_BYTES):
                self.sha.update(block)
        return self.sha.hexdigest()


class CsvPass:
    """The one pass over a CSV file. Iterate `batches` (or hand them to the checker), then
    `stored` gives the artifact: the file's hash, and its Parquet, claimed for the run."""

    def __init__(self, path: Path, encoding: str | None, store: RunStore, run_id: str) -> None:
        self.path, self.store, self.run_id = path, store, run_id
        parse, convert = csv_options(path, encoding)
        read = pa_csv.ReadOptions(block_size=BLOCK_BYTES, encoding=encoding or "utf8")
        self._source = _Hashing(path, "rb")
        # A small file is read at once, parsed whole (see `_parse_whole`); a larger one streams.
        data = self._source.file.read() if path.stat().st_size <= WHOLE_FILE_BYTES else None
        try:
            self._reader = pa_csv.open_csv(
                pa.PythonFile(self._source, mode="r") if data is None else pa.BufferReader(data),
                read_options=read,
                parse_options=parse,
                convert_options=convert,
            )
            inferred = self._reader.schema
            if any(_untyped(f.type) for f in inferred):
                raise NotStreamable(str(path))
            self.schema = settled_schema(inferred)
            table: pa.Table | pa.ArrowException | None = None
            if data is not None:
                try:
                    table = _parse_whole(data, read, parse, convert, self.schema)
                except pa.ArrowException as exc:  # raised to whoever reads, as the stream would
                    table = exc
                if table is None:  # streamed from memory after all
                    self._source.sha.update(data)
        except BaseException:
            self._source.close()
            raise
        self.rows = 0
        self.error: BaseException | None = None
        self._tmp = store.artifacts.temp_path()
        self._parquet = _Hashing(self._tmp, "wb")
        self._writer = pq.ParquetWriter(self._parquet, self.schema, **PARQUET_OPTIONS)
        self._artifact: str | None = None
        # Parquet is encoded in a thread of its own, beside the parse: its queue holds more
        # than the batches parsed while a row group is encoded (a row group is encoded at once,
        # the queue read only between two), so the parse never waits on it; a table parsed
        # whole is encoded (and the file hashed) from the start, beside the whole aggregate
        self._queue: queue.Queue[pa.RecordBatch | object] = queue.Queue(maxsize=WRITE_AHEAD)
        self._ended = False
        self._write_error: BaseException | None = None
        whole = isinstance(table, pa.Table)
        self._write_thread = threading.Thread(
            target=self._write_whole if whole else self._write,
            args=(table, data) if whole else (),
            name="prodex-parquet",
            daemon=True,
        )
        self._write_thread.start()
        # a streamed file is parsed in a thread of its own too, from now on: the consumer's
        # work (the checker's head, then its aggregate) is done beside the parse, not after
        self._parsed: queue.Queue[pa.RecordBatch | BaseException | object] = queue.Queue(
            maxsize=PARSE_AHEAD
        )
        self._stop = threading.Event()
        self._parse_thread: threading.Thread | None = None
        if table is None:
            self._parse_thread = threading.Thread(
                target=self._parse, name="prodex-csv", daemon=True
            )
            self._parse_thread.start()
        self.batches: Iterator[pa.RecordBatch] = (
            self._batches() if table is None else self._table_batches(table)
        )

    def _table_batches(self, table: pa.Table | pa.ArrowException) -> Iterator[pa.RecordBatch]:
        """The batches of a file parsed whole, or the error that stopped its parse."""
        if isinstance(table, pa.ArrowException):
            self.error = table
            self._end(_ABORT)
            raise table
        for batch in table.to_batches():
            self.rows += batch.num_rows
            yield batch

    def _write_whole(self, table: pa.Table, data: bytes) -> None:
        """The writer thread of a table parsed whole: its row groups, then the file's hash."""
        try:
            self._writer.write_table(table, row_group_size=ROW_GROUP_ROWS)
            self._source.sha.update(data)
        except BaseException as exc:
            self._write_error = exc
        finally:
            self._writer.close()

    def _parse(self) -> None:
        """The parse thread: each batch to the writer and to the consumer; then the end, or
        the error that stopped the parse (raised to the consumer, which decides what it means)."""
        try:
            for batch in self._reader:
                if self._stop.is_set():  # discarded: nobody reads on
                    self._end(_ABORT)
                    return
                if not batch.schema.equals(self.schema):
                    batch = batch.cast(self.schema)
                self.rows += batch.num_rows
                self._queue.put(batch)
                self._parsed.put(batch)
        except BaseException as exc:
            self._end(_ABORT)
            self._parsed.put(exc)
            return
        self._end(_END)
        self._parsed.put(_END)

    def _batches(self) -> Iterator[pa.RecordBatch]:
        while isinstance(batch := self._parsed.get(), pa.RecordBatch):
            yield batch
        if isinstance(batch, BaseException):
            self.error = batch
            raise batch

    def _end(self, mark: object) -> None:
        if not self._ended:
            self._ended = True
            self._queue.put(mark)

    def _write(self) -> None:
        """The writer thread: row groups as write_table cuts the whole table."""
        pending: list[pa.RecordBatch] = []
        held = 0
        try:
            while (batch := self._queue.get()) not in (_END, _ABORT):
                assert isinstance(batch, pa.RecordBatch)
                pending.append(batch)
                held += batch.num_rows
                if held >= ROW_GROUP_ROWS:
                    group = pa.Table.from_batches(pending, schema=self.schema)
                    while held >= ROW_GROUP_ROWS:
                        self._writer.write_table(group.slice(0, ROW_GROUP_ROWS))
                        group = group.slice(ROW_GROUP_ROWS)
                        held = group.num_rows
                    pending = group.to_batches()
            if held and batch is _END:
                self._writer.write_table(pa.Table.from_batches(pending, schema=self.schema))
        except BaseException as exc:
            self._write_error = exc
            while self._queue.get() not in (_END, _ABORT):  # the reader must never block
                pass
        finally:
            self._writer.close()

    def stored(self) -> DataRef:
        """The stored copy, once every batch has gone by (reading what is left first)."""
        return DataRef(path=str(self.store.artifacts.path(self.artifact())), format="parquet")

    def artifact(self) -> str:
        """The Parquet's hash, stored and claimed for the run (raises the pass's error)."""
        if self._artifact is None:
            for _ in self.batches:
                pass
            if self.error is not None:
                raise self.error
            self._write_thread.join()
            if self._write_error is not None:
                raise self._write_error
            self._parquet.close()
            self._artifact = self._parquet.hexdigest()
            self.store.put_file(self._tmp, self._artifact, self.run_id)
        return self._artifact

    def file_sha256(self) -> str:
        self._write_thread.join()  # a file read whole is hashed there
        if self._parse_thread is not None:
            self._parse_thread.join()  # a streamed one as it is parsed
        sha = self._source.hexdigest()
        self._source.close()
        return sha

    def discard(self) -> None:
        """After a failed pass: nothing is kept."""
        if self._parse_thread is None:
            self._end(_ABORT)
        else:  # the parse is stopped (and ends the writer): what it still hands over is dropped
            self._stop.set()
            while self._parse_thread.is_alive():
                with contextlib.suppress(queue.Empty):
                    self._parsed.get(timeout=0.05)
        self._source.close()
        self._write_thread.join()
        self._parquet.close()
        self._tmp.unlink(missing_ok=True)


_END, _ABORT = object(), object()  # the writer thread's marks: all written, or keep nothing
# Batches (each a block of about a megabyte of CSV) queued for the writer, and for the consumer:
# 10M rows here are 344 batches, a row group 35 of them, parsed in 0.22 s while the previous
# one takes 0.16 s to encode
WRITE_AHEAD, PARSE_AHEAD = 48, 8


def _parse_whole(
    data: bytes,
    read: pa_csv.ReadOptions,
    parse: pa_csv.ParseOptions,
    convert: pa_csv.ConvertOptions,
    schema: pa.Schema,
) -> pa.Table | None:
    """A file of up to `WHOLE_FILE_BYTES`, parsed at once by pyarrow's table reader, on its
    threads: cheaper than the stream reader, and the Parquet can be encoded while the checker
    aggregates instead of after (a row group holds 1M rows: a small file is one row group,
    which the stream can only encode once its last batch has gone by). The stream's types are
    given (the table reader would otherwise type each column from all the blocks), so the
    batches, the artifact's bytes and the evidence are the stream's; a value that does not fit
    raises here, and the file is read whole as when the stream stops on it. None when columns
    share a name (types are given by name): the bytes are streamed."""
    if len(set(schema.names)) != len(schema.names):
        return None
    convert.column_types = schema
    return pa_csv.read_csv(
        pa.BufferReader(data), read_options=read, parse_options=parse, convert_options=convert
    )


def _untyped(type_: pa.DataType) -> bool:
    return pa.types.is_null(type_) or pa.types.is_binary(type_) or pa.types.is_large_binary(type_)
